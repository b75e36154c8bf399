import { LayerPlacement } from '../expert-map/physical-to-logical';
import { HeatEpisodes } from './heat';

/**
 * Rank loads of one layer (docs/design.md, "Imbalance"): each replica of e receives
 * h[e] / replicas[e]; a rank's load is the sum over its slots.
 */
export function rankLoads(row: LayerPlacement, h: ArrayLike<number>, numRanks: number, slotsPerRank: number): Float64Array {
  const reps = new Int32Array(h.length);
  for (let p = 0; p < row.length; p++) reps[row[p]]++;
  const loads = new Float64Array(numRanks);
  for (let p = 0; p < row.length; p++) {
    const e = row[p];
    loads[(p / slotsPerRank) | 0] += h[e] / reps[e];
  }
  return loads;
}

/** max / mean of the first `numRanks` loads; 1 when the mean is 0. */
export function peakOverMean(loads: ArrayLike<number>, numRanks: number): number {
  let max = 0;
  let sum = 0;
  for (let r = 0; r < numRanks; r++) {
    sum += loads[r];
    if (loads[r] > max) max = loads[r];
  }
  return sum > 0 ? (max * numRanks) / sum : 1;
}

/** max rank load / mean rank load; 1 when the mean is 0. */
export function imbalance(row: LayerPlacement, h: ArrayLike<number>, numRanks: number, slotsPerRank: number): number {
  return peakOverMean(rankLoads(row, h, numRanks, slotsPerRank), numRanks);
}

export interface LayerImbalance {
  /** On the heat summed over the window. */
  readonly window: number;
  /** Mean over episodes of each episode's imbalance. */
  readonly episodeMean: number;
  readonly episodeMax: number;
}

/** Imbalance of one layer's placement on the window sum and per episode. */
export function layerImbalance(
  row: LayerPlacement,
  heat: HeatEpisodes,
  layer: number,
  numRanks: number,
  slotsPerRank: number,
): LayerImbalance {
  const E = heat[0][layer].length;
  const reps = new Int32Array(E);
  for (let p = 0; p < row.length; p++) reps[row[p]]++;
  const share = new Float64Array(row.length);
  for (let p = 0; p < row.length; p++) share[p] = 1 / reps[row[p]];
  const loads = new Float64Array(numRanks);
  const sum = new Float64Array(E);
  const ratio = (h: ArrayLike<number>): number => {
    loads.fill(0);
    for (let p = 0; p < row.length; p++) loads[(p / slotsPerRank) | 0] += h[row[p]] * share[p];
    return peakOverMean(loads, numRanks);
  };
  let mean = 0;
  let max = 0;
  for (let k = 0; k < heat.length; k++) {
    const h = heat[k][layer];
    for (let e = 0; e < E; e++) sum[e] += h[e];
    const v = ratio(h);
    mean += v;
    if (v > max) max = v;
  }
  return { window: ratio(sum), episodeMean: mean / heat.length, episodeMax: max };
}

/** Mean over episodes and layers of per-episode imbalance (eplbeval.py's episode_mean / future_mean). */
export function meanEpisodeImbalance(map: readonly LayerPlacement[], heat: HeatEpisodes, numRanks: number, slotsPerRank: number): number {
  let total = 0;
  for (let k = 0; k < heat.length; k++) {
    for (let l = 0; l < map.length; l++) total += imbalance(map[l], heat[k][l], numRanks, slotsPerRank);
  }
  return total / (heat.length * map.length);
}
