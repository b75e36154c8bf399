import { Injectable } from '@nestjs/common';
import { RebalancingResponse, ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentRepository, DeploymentRolloutsReader } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';

/** The rebalancing state of a deployment, from the rollouts read model (`rollouts:<deployment>`). */
@Injectable()
export class RebalancingUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: DeploymentRolloutsReader,
  ) {}

  async execute(dep: string): Promise<RebalancingResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    const { view, events } = await this.rollouts.load(dep);
    const layerVersions = view.committedVersions(d.numLayers);
    const rid = view.active();
    if (rid === null) {
      return { deployment: dep, rebalancing: false, rolloutId: null, fromVersion: null, toVersion: null, layersCommitted: 0, layersTotal: 0, since: null, layerVersions };
    }
    const started = events.find((e) => e.type === ROLLOUT_EVENTS.started && e.payload.rolloutId === rid)!;
    const { fromVersion, toVersion } = view.started.get(rid)!;
    const layers = Array.isArray(started.payload.layers) ? (started.payload.layers as number[]) : [];
    // the last version each layer of this rollout was committed on
    const last = new Map<number, number>();
    for (const e of events) {
      if (e.type === ROLLOUT_EVENTS.layerCommitted && e.payload.rolloutId === rid) last.set(Number(e.payload.layer), Number(e.payload.version));
    }
    return {
      deployment: dep,
      rebalancing: true,
      rolloutId: rid,
      fromVersion,
      toVersion,
      layersCommitted: layers.filter((l) => last.get(l) === toVersion).length,
      layersTotal: layers.length,
      since: started.occurredAt.toISOString(),
      layerVersions,
    };
  }
}
