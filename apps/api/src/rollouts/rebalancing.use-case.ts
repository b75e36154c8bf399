import { Injectable } from '@nestjs/common';
import { RebalancingResponse } from '@eplb/contracts';
import { DeploymentRepository, DeploymentRolloutsReader, FollowedDeploymentRollouts } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';

/**
 * The rebalancing state of a deployment, from the rollouts read model (`rollouts:<deployment>`).
 * Request routers poll this every second or so: each deployment's read model is followed, so a
 * poll reads only the events appended since the last one, not the whole rollout history.
 */
@Injectable()
export class RebalancingUseCase {
  private readonly followed = new Map<string, FollowedDeploymentRollouts>();

  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: DeploymentRolloutsReader,
  ) {}

  async execute(dep: string): Promise<RebalancingResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    let follower = this.followed.get(dep);
    if (!follower) this.followed.set(dep, (follower = this.rollouts.follow(dep)));
    const view = await follower.refresh();
    const layerVersions = view.committedVersions(d.numLayers);
    const rid = view.active();
    const started = rid === null ? undefined : view.started.get(rid);
    if (rid === null || !started) {
      return { deployment: dep, rebalancing: false, rolloutId: null, fromVersion: null, toVersion: null, layersCommitted: 0, layersTotal: 0, since: null, layerVersions };
    }
    const layers = started.layers ?? [];
    return {
      deployment: dep,
      rebalancing: true,
      rolloutId: rid,
      fromVersion: started.fromVersion,
      toVersion: started.toVersion,
      // while a rollout runs only it commits layers: those of its layers on its target are its own
      layersCommitted: layers.filter((l) => view.committed.get(l) === started.toVersion).length,
      layersTotal: layers.length,
      since: started.startedAt?.toISOString() ?? null,
      layerVersions,
    };
  }
}
