import { Injectable } from '@nestjs/common';
import { ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { DeploymentRolloutsReader } from './deployment-rollouts.reader';

/** What a request router needs to know: is the deployment's expert map changing, and how far. */
export interface RebalancingResponse {
  deployment: string;
  /** A rollout started and not finished. */
  rebalancing: boolean;
  rolloutId: string | null;
  fromVersion: number | null;
  toVersion: number | null;
  /** Layers of the rollout on `toVersion` now (rolled-back layers are not). */
  layersCommitted: number;
  /** Layers the rollout changes. */
  layersTotal: number;
  /** When the rollout started. */
  since: string | null;
  /** Per layer, the version every rank is on (committed read model). */
  layerVersions: number[];
}

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
