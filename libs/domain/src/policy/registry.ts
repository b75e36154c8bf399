import { invalid } from '../errors';
import { assertShape, numSlots } from '../shape/deployment-shape';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { HeatEpisodes, windowSum } from '../heat/heat';
import { peakOverMean } from '../heat/imbalance';
import { alignToCurrent, layerTransfers } from '../transfer/transfer-plan';
import { defaultPolicy, flashPolicy, greedyPolicy, incrementalPolicy } from './policies';
import { LayerCertainty, LayerPolicy, LayerReport, PolicyInput, PolicyOptions, PolicyResult } from './types';
import { assertExcludeRanks, expandRow, liveRanks, liveShape, reviveOnLiveRanks } from './exclude-ranks';

interface Entry {
  readonly run: LayerPolicy;
  /** True when the policy edits the map in service slot by slot (its rows are already aligned). */
  readonly slotAligned: boolean;
}

const policies: Readonly<Record<string, Entry>> = {
  default: { run: defaultPolicy, slotAligned: true },
  greedy: { run: greedyPolicy, slotAligned: false },
  flash: { run: flashPolicy, slotAligned: false },
  incremental: { run: incrementalPolicy, slotAligned: true },
};

export const policyNames = (): string[] => Object.keys(policies);

export type Policy = (input: PolicyInput) => PolicyResult;

/** The policy called `name`, wrapped with input checks, output validation and per-layer reports. */
export function getPolicy(name: string): Policy {
  const entry = Object.prototype.hasOwnProperty.call(policies, name) ? policies[name] : undefined;
  if (!entry) throw invalid('policy', `unknown policy "${name}" (known: ${policyNames().join(', ')})`);
  const plan = (input: PolicyInput): PolicyResult => {
    const { shape, heat, current } = input;
    const notes: LayerCertainty[] = [];
    let map = entry.run(input, notes);
    // experts a rank keeps stay in their slots: only arriving experts are written
    if (current && !entry.slotAligned) map = map.map((row, l) => alignToCurrent(current[l], row, shape.slotsPerRank));
    assertPhysicalToLogical(map, shape.numLayers, shape.numExperts, numSlots(shape));
    const scratch = new Scratch(shape.numExperts, numSlots(shape), shape.numRanks);
    const layers: LayerReport[] = map.map((row, l) => {
      let redeployed = true;
      if (current) {
        redeployed = false;
        for (let p = 0; p < row.length && !redeployed; p++) redeployed = row[p] !== current[l][p];
      }
      const after = imbalances(row, heat, l, shape.numRanks, shape.slotsPerRank, scratch);
      const before = current ? (redeployed ? imbalances(current[l], heat, l, shape.numRanks, shape.slotsPerRank, scratch) : after) : null;
      return {
        imbalanceBefore: before ? before.window : null,
        imbalanceAfter: after.window,
        episodeBefore: before ? before.episodeMean : null,
        episodeAfter: after.episodeMean,
        transfers: current && redeployed ? layerTransfers(current[l], row, shape.slotsPerRank) : 0,
        redeployed,
        ...(notes[l] ? { certainty: notes[l] } : {}),
      };
    });
    return { policy: name, physicalToLogical: map, layers };
  };
  return (input) => {
    assertPolicyInput(input);
    const exclude = input.options?.excludeRanks;
    return exclude && exclude.length > 0 ? aroundLostRanks(input, exclude, plan) : plan(input);
  };
}

/**
 * A plan for the live ranks alone (exclude-ranks.ts): the map in service cut to the live ranks
 * and every lost expert revived there (the fewest transfers that keep each expert served), the
 * policy run on that, the excluded ranks put back as they are. Reports are the live ranks'; the
 * transfers are counted against the whole map in service.
 */
function aroundLostRanks(input: PolicyInput, exclude: readonly number[], plan: (input: PolicyInput) => PolicyResult): PolicyResult {
  const { shape, heat, current, options = {} } = input;
  const { numRanks: R, slotsPerRank: S, numExperts: E } = shape;
  assertExcludeRanks(exclude, shape);
  const live = liveRanks(R, exclude);
  const liveCurrent = current?.map((row, l) => reviveOnLiveRanks(row, live, S, E, windowSum(heat, l)));
  const rest: PolicyOptions = { ...options, excludeRanks: undefined };
  const res = plan({ shape: liveShape(shape, live), heat, ...(liveCurrent ? { current: liveCurrent } : {}), options: rest });
  const map = res.physicalToLogical.map((row, l) => expandRow(row, live, R, S, current?.[l]));
  assertPhysicalToLogical(map, shape.numLayers, E, numSlots(shape));
  const layers = res.layers.map((r, l) => {
    if (!current) return r;
    const transfers = layerTransfers(current[l], map[l], S);
    let redeployed = false;
    for (let p = 0; p < map[l].length && !redeployed; p++) redeployed = map[l][p] !== current[l][p];
    return { ...r, transfers, redeployed };
  });
  return { policy: res.policy, physicalToLogical: map, layers };
}

class Scratch {
  readonly reps: Int32Array;
  readonly share: Float64Array;
  readonly idx: Int32Array;
  readonly window: Float64Array;
  constructor(E: number, P: number, R: number) {
    this.reps = new Int32Array(E);
    this.share = new Float64Array(P);
    this.idx = new Int32Array(P);
    this.window = new Float64Array(R);
  }
}

/**
 * layerImbalance (window sum and mean per-episode imbalance) in one pass over the episodes: the
 * window's rank loads are the sums of the episodes' rank loads.
 */
function imbalances(
  row: ArrayLike<number>,
  heat: HeatEpisodes,
  layer: number,
  R: number,
  S: number,
  sc: Scratch,
): { window: number; episodeMean: number } {
  const { reps, share, window, idx } = sc;
  const P = R * S;
  reps.fill(0);
  window.fill(0);
  for (let p = 0; p < P; p++) {
    idx[p] = row[p];
    reps[idx[p]]++;
  }
  for (let p = 0; p < P; p++) share[p] = 1 / reps[idx[p]];
  let mean = 0;
  for (let k = 0; k < heat.length; k++) {
    const h = heat[k][layer];
    let max = 0, total = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let v = 0;
      for (let j = 0; j < S; j++, p++) v += h[idx[p]] * share[p];
      window[r] += v;
      total += v;
      if (v > max) max = v;
    }
    mean += total > 0 ? (max * R) / total : 1;
  }
  return { window: peakOverMean(window, R), episodeMean: mean / heat.length };
}

/** Throws a DomainError naming the first part of the input that does not fit the shape. */
export function assertPolicyInput(input: PolicyInput): void {
  const { shape, heat, current } = input;
  assertShape(shape);
  if (heat.length === 0) throw invalid('heat', 'must have at least one episode');
  heat.forEach((ep, k) => {
    if (ep.length !== shape.numLayers) throw invalid(`heat[${k}]`, `has ${ep.length} layers, expected ${shape.numLayers}`);
    ep.forEach((h, l) => {
      if (h.length !== shape.numExperts) throw invalid(`heat[${k}][${l}]`, `has ${h.length} experts, expected ${shape.numExperts}`);
    });
  });
  if (current) assertPhysicalToLogical(current, shape.numLayers, shape.numExperts, numSlots(shape), 'current');
}
