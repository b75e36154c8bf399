import { Injectable } from '@nestjs/common';
import type { DeploymentListResponse } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { toDeploymentResponse } from './deployment.response';

/** Deployments by id, a page at a time (keyset: `after` is the last id of the previous page). */
@Injectable()
export class ListDeploymentsUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(limit: number, after?: string): Promise<DeploymentListResponse> {
    const rows = await this.deployments.list(limit, after);
    return { items: rows.map(toDeploymentResponse), next: rows.length === limit ? rows[rows.length - 1].id : null };
  }
}
