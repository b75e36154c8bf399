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

/**
 * What a committed-map source reads: per layer the version every rank committed (the rollouts
 * read model, `DeploymentRollouts.committedVersions`), and the rows of a map version.
 */
export interface CommittedMapReader {
  /** Per layer the committed version (length L); layers never rolled out are on version 1. */
  committedVersions(): Promise<readonly number[]>;
  /** physical_to_logical of a version, or null if there is no such version. Versions never change. */
  mapVersion(version: number): Promise<readonly (readonly number[])[] | null>;
  close?(): Promise<void>;
}

/**
 * Follows the map each layer actually committed: at every refresh, reads per layer the
 * committed version and puts the layer on that version's rows (fetched once per version and kept,
 * since versions are immutable). So during a rollout the simulated engine routes each layer as
 * its committed map says, and its heat events carry per-layer versions that change as layers
 * commit. `refresh()` must succeed once before `current()` (the initial map); later failures keep
 * the maps in force and are reported through `onError`, so a control plane restart does not stop
 * the heat.
 */
export class CommittedMapSource implements MapSource {
  private snapshot: MapSnapshot | null = null;
  private readonly maps = new Map<number, readonly (readonly number[])[]>();

  constructor(
    private readonly shape: DeploymentShape,
    private readonly reader: CommittedMapReader,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  current(): MapSnapshot {
    if (!this.snapshot) throw new Error('CommittedMapSource: refresh() has not succeeded yet');
    return this.snapshot;
  }

  async refresh(): Promise<void> {
    try {
      this.snapshot = await this.read();
    } catch (err) {
      if (!this.snapshot) throw err;
      this.onError(`map source: ${(err as Error).message}; layers stay on their maps`);
    }
  }

  async close(): Promise<void> {
    await this.reader.close?.();
  }

  private async read(): Promise<MapSnapshot> {
    const { numLayers: L, numRanks: R, slotsPerRank: S } = this.shape;
    const versions = await this.reader.committedVersions();
    if (versions.length !== L) throw new Error(`committed versions name ${versions.length} layers, the deployment has ${L}`);
    for (const v of new Set(versions)) {
      if (this.maps.has(v)) continue;
      const map = await this.reader.mapVersion(v);
      if (!map) throw new Error(`map version ${v} does not exist`);
      if (map.length !== L || map.some((row) => row.length !== R * S)) throw new Error(`map version ${v} is not ${L} layers × ${R * S} slots`);
      this.maps.set(v, map);
    }
    const layers = versions.map((v, l) => ({ version: v, physicalToLogical: this.maps.get(v)![l] }));
    const prev = this.snapshot;
    if (prev && prev.layers.every((m, l) => m.version === layers[l].version)) return prev;
    return { version: Math.max(...versions), layers };
  }
}
