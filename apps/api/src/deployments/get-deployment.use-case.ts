import { Injectable } from '@nestjs/common';
import type { DeploymentResponse } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toDeploymentResponse } from './deployment.response';

@Injectable()
export class GetDeploymentUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(id: string): Promise<DeploymentResponse> {
    const d = await this.deployments.find(id);
    if (!d) throw notFoundProblem(`deployment ${id} does not exist`);
    return toDeploymentResponse(d);
  }
}
