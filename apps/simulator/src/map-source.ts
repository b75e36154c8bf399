import { DeploymentShape, roundRobinMap } from '@eplb/domain';

/** One layer's map in force: the version it is on and its slots' logical experts. */
export interface LayerMapState {
  readonly version: number;
  readonly physicalToLogical: readonly number[];
}

/**
 * The maps in force, per layer. Layers can be on different versions (a rollout commits layer by
 * layer); `version` is the newest version any layer is on.
 */
export interface MapSnapshot {
  readonly version: number;
  readonly layers: readonly LayerMapState[];
}

/**
 * Where the simulator learns which map each layer is on. `current()` is read at every step and
 * must be cheap; `refresh()` is called every `--map-refresh-ms` to pick up changes (e.g. from the
 * rollout service's committed layers). A layer's new map applies from the next simulated step.
 */
export interface MapSource {
  current(): MapSnapshot;
  refresh(): Promise<void>;
  close?(): Promise<void>;
}

/** Map version 1 as the API generates it when no initial map is imported: round-robin, never changing. */
export class StaticMapSource implements MapSource {
  private readonly snapshot: MapSnapshot;

  constructor(shape: DeploymentShape, version = 1, map: readonly (readonly number[])[] = roundRobinMap(shape)) {
    this.snapshot = { version, layers: map.map((row) => ({ version, physicalToLogical: row })) };
  }

  current(): MapSnapshot {
    return this.snapshot;
  }

  async refresh(): Promise<void> {
    /* static */
  }
}

/** What an event says about versions: one mapVersion, or per-layer versions during a rollout. */
export function versionsOf(layerVersions: ArrayLike<number>): { mapVersion: number; layerVersions: number[] | null } {
  let max = 0;
  let mixed = false;
  for (let l = 0; l < layerVersions.length; l++) {
    if (l > 0 && layerVersions[l] !== layerVersions[0]) mixed = true;
    if (layerVersions[l] > max) max = layerVersions[l];
  }
  return { mapVersion: max, layerVersions: mixed ? Array.from(layerVersions) : null };
}
