import { DataSource } from 'typeorm';
import { ApiClient, ApiProblem } from '@eplb/api-client';
import { createDataSource, DeploymentRepository, DeploymentRolloutsReader, FollowedDeploymentRollouts } from '@eplb/persistence';
import type { CommittedMapReader } from './map-source';

/**
 * Committed versions and map rows through the control-plane API: `GET
 * /v1/deployments/{id}/rollouts` (`committedVersions`) and `GET /v1/deployments/{id}/maps/{version}`.
 */
export class ApiMapReader implements CommittedMapReader {
  constructor(
    private readonly api: ApiClient,
    private readonly deployment: string,
  ) {}

  async committedVersions(): Promise<number[]> {
    return (await this.api.listRollouts(this.deployment)).committedVersions;
  }

  async mapVersion(version: number): Promise<number[][] | null> {
    try {
      return (await this.api.getMapVersion(this.deployment, version)).physicalToLogical;
    } catch (err) {
      if (!(err instanceof ApiProblem && err.status === 404)) throw err;
      // Nest's own 404 for a route it does not have: an API older than this endpoint
      if (/Cannot GET/.test(err.detail)) throw new Error(`the API at ${this.api.baseUrl} has no GET /v1/deployments/{id}/maps/{version}; use --map-source db`);
      return null;
    }
  }
}

/**
 * Committed versions and map rows straight from Postgres: the deployment's `rollouts:<id>` event
 * stream folded by the projection the API and the rollout service use (followed from the last
 * event seen, so a refresh costs one indexed query), and the `map_versions` rows.
 */
export class DbMapReader implements CommittedMapReader {
  private readonly rollouts: FollowedDeploymentRollouts;

  constructor(
    private readonly ds: DataSource,
    private readonly deployment: string,
    private readonly numLayers: number,
    private readonly ownsDataSource = false,
  ) {
    this.rollouts = new DeploymentRolloutsReader(ds).follow(deployment);
  }

  static async connect(databaseUrl: string, deployment: string, numLayers: number): Promise<DbMapReader> {
    const ds = createDataSource(databaseUrl, 'eplb-simulator');
    await ds.initialize();
    return new DbMapReader(ds, deployment, numLayers, true);
  }

  async committedVersions(): Promise<number[]> {
    return (await this.rollouts.refresh()).committedVersions(this.numLayers);
  }

  mapVersion(version: number): Promise<number[][] | null> {
    return new DeploymentRepository(this.ds).mapVersion(this.deployment, version);
  }

  async close(): Promise<void> {
    if (this.ownsDataSource && this.ds.isInitialized) await this.ds.destroy();
  }
}
