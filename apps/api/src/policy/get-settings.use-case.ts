import { Injectable } from '@nestjs/common';
import type { SettingsResponse } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toSettingsResponse } from './policy.responses';

@Injectable()
export class GetSettingsUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(dep: string): Promise<SettingsResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    return toSettingsResponse(d);
  }
}
