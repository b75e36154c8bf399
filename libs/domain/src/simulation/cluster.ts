import { invalid } from '../errors';
import { assertLayerPlacement, LayerPlacement } from '../expert-map/physical-to-logical';
import { RouterModel } from './router-model';
import { compileLayerMap, CompiledLayerMap, slotLoads } from './slot-loads';

export interface ClusterShape {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
}

/** One layer's map in force: the map version it belongs to and its placement. */
export interface LayerMapInForce {
  readonly version: number;
  readonly physicalToLogical: LayerPlacement;
}

/** One simulated step: logical counts (L×E) and what the slots received under the map in force (L×P). */
export interface ClusterStep {
  /** The router model's step (0, 1, ...). */
  readonly step: number;
  readonly logical: Int32Array;
  readonly slots: Int32Array;
  /** Map version each layer was on during this step. */
  readonly layerVersions: Int32Array;
}

/**
 * A deployment's MoE layers as the engine sees them: tokens routed by a RouterModel, split over
 * the replicas of the map in force per layer. Layers change map independently (a rollout commits
 * layer by layer); a step's slot loads always follow the maps set before it.
 */
export class ClusterSimulator {
  readonly numSlots: number;
  private readonly maps: CompiledLayerMap[];
  private readonly versions: Int32Array;

  constructor(
    readonly shape: ClusterShape,
    private readonly model: RouterModel,
    initial: readonly LayerMapInForce[],
  ) {
    if (model.numLayers !== shape.numLayers || model.numExperts !== shape.numExperts) {
      throw invalid('model', `routes ${model.numLayers}×${model.numExperts}, the shape is ${shape.numLayers}×${shape.numExperts}`);
    }
    if (initial.length !== shape.numLayers) throw invalid('initial', `has ${initial.length} layers, expected ${shape.numLayers}`);
    this.numSlots = shape.numRanks * shape.slotsPerRank;
    this.maps = new Array<CompiledLayerMap>(shape.numLayers);
    this.versions = new Int32Array(shape.numLayers);
    initial.forEach((m, l) => this.setLayerMap(l, m));
  }

  /** Puts `layer` on a new map from the next step on. */
  setLayerMap(layer: number, map: LayerMapInForce): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.shape.numLayers) throw invalid('layer', `must be in [0, ${this.shape.numLayers})`);
    if (!Number.isInteger(map.version) || map.version <= 0) throw invalid('version', 'must be a positive integer');
    const current = this.maps[layer];
    if (current && this.versions[layer] === map.version) return;
    assertLayerPlacement(Array.from(map.physicalToLogical), this.shape.numExperts, this.numSlots, `physical_to_logical[${layer}]`);
    this.maps[layer] = compileLayerMap(map.physicalToLogical, this.shape.numExperts);
    this.versions[layer] = map.version;
  }

  layerVersion(layer: number): number {
    return this.versions[layer];
  }

  /** Generates the next step; pass buffers to reuse them (L×E and L×P). */
  next(buffers?: { logical?: Int32Array; slots?: Int32Array }): ClusterStep {
    const { numLayers: L, numExperts: E } = this.shape;
    const P = this.numSlots;
    const step = this.model.step;
    const logical = this.model.next(buffers?.logical);
    const slots = buffers?.slots ?? new Int32Array(L * P);
    for (let l = 0; l < L; l++) slotLoads(logical, this.maps[l], slots.subarray(l * P, (l + 1) * P), l * E);
    return { step, logical, slots, layerVersions: this.versions.slice() };
  }
}
