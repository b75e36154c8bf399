import { Injectable } from '@nestjs/common';
import type { MapVersionListResponse } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toMapVersionResponse } from './map-version.response';

/** A deployment's map versions, newest first, a page at a time (`before`: the last version of the previous page). */
@Injectable()
export class ListMapVersionsUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(dep: string, limit: number, before?: number): Promise<MapVersionListResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    const rows = await this.deployments.listMapVersions(dep, limit, before);
    return { latest: d.latestMapVersion, items: rows.map(toMapVersionResponse), next: rows.length === limit ? rows[rows.length - 1].version : null };
  }
}
