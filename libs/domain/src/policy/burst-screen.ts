import { HeatEpisodes } from '../heat/heat';
import { episodeImbalancesOfTwo } from './episode-imbalance';
import { staleZ } from './stale-map';

/**
 * Heat whose deviations do not persist (noise, random bursts on random experts): is the map in
 * service fitted to the bursts of the window it was planned on? A map planned on a window's sum
 * gives an expert that burst there replicas and room it will not need, and its typical load goes
 * unbalanced. The stale test (stale-map.ts) cannot see that: it judges maps on the newer episodes
 * as they are, where the next bursts land on random experts and their noise, many times the gain,
 * hides it. Here the newer episodes are judged with their bursts clipped (burstFreeEpisodes): what
 * is left is the load a plan can place, and there a map fitted to old bursts loses to a fresh plan
 * of the typical levels by many standard errors, while a map planned on heat like the window's
 * (stationary heat) does not.
 */

/**
 * How far from its median an expert's share may lie in a held-out episode before it counts as a
 * burst and is clipped there, in sds of its wandering (1.4826·MAD): the classic three-sigma rule —
 * normal wandering is left as it is, a burst of several times an expert's share is not.
 */
const BURST_CLIP = 3;

/** Consistency factor of the MAD as an estimate of a normal sd. */
const MAD_SD = 1.4826;

/**
 * Episodes [from, to) of a layer as shares of their totals, each expert's share clipped to its
 * median ± BURST_CLIP sds over those episodes (an all-zero episode stays all zero).
 */
export function burstFreeEpisodes(heat: HeatEpisodes, layer: number, from: number, to: number): HeatEpisodes {
  const n = to - from;
  const E = heat[0][layer].length;
  // shares of episode i at [i·E, (i + 1)·E)
  const shares = new Float64Array(n * E);
  for (let i = 0; i < n; i++) {
    const h = heat[from + i][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    const f = total > 0 ? 1 / total : 0;
    for (let e = 0, o = i * E; e < E; e++) shares[o + e] = h[e] * f;
  }
  const col = new Float64Array(n);
  for (let e = 0; e < E; e++) {
    for (let i = 0; i < n; i++) col[i] = shares[i * E + e];
    const med = sortedMedian(col);
    for (let i = 0; i < n; i++) col[i] = Math.abs(shares[i * E + e] - med);
    const c = BURST_CLIP * MAD_SD * sortedMedian(col);
    for (let i = 0, o = e; i < n; i++, o += E) shares[o] = Math.min(med + c, Math.max(med - c, shares[o]));
  }
  const episodes: Float64Array[][] = [];
  for (let i = 0; i < n; i++) episodes.push([shares.subarray(i * E, (i + 1) * E)]);
  return episodes;
}

/** The median of `x`, which it sorts in place (insertion sort: a window's held-out episodes are few). */
function sortedMedian(x: Float64Array): number {
  const n = x.length;
  for (let i = 1; i < n; i++) {
    const v = x[i];
    let j = i - 1;
    for (; j >= 0 && x[j] > v; j--) x[j + 1] = x[j];
    x[j + 1] = v;
  }
  return n & 1 ? x[n >> 1] : 0.5 * (x[(n >> 1) - 1] + x[n >> 1]);
}

/**
 * One layer's held-out judgement without bursts: per newer episode, the imbalance of the map in
 * service minus that of `fresh`, a plan made from the older half of the episodes only (the stale
 * test's fresh plan: the plain greedy on each expert's typical share there), both on the newer
 * episodes with their bursts clipped.
 */
export function burstScreen(heat: HeatEpisodes, layer: number, current: ArrayLike<number>, fresh: ArrayLike<number>, R: number, S: number): Float64Array {
  const K = heat.length;
  const clipped = burstFreeEpisodes(heat, layer, K - (K >> 1), K);
  const { a: base, b: next } = episodeImbalancesOfTwo(clipped, 0, 0, clipped.length, current, fresh, R, S);
  const diffs = new Float64Array(base.length);
  for (let k = 0; k < base.length; k++) diffs[k] = base[k] - next[k];
  return diffs;
}

/** The deployment's answer: is the map in service fitted to old bursts? */
export interface BurstVerdict {
  readonly fitted: boolean;
  /** Mean burst-free held-out gain over the layers screened, and its standard error. */
  readonly gain: number;
  readonly se: number;
}

/**
 * One test over every layer screened (burstScreen), not one per layer: how a map was planned (on a
 * window's sum, bursts and all) is one fact of the deployment, and each layer's gain alone is a
 * few standard errors at best. The mean of all the layers' per-episode differences must exceed
 * staleZ for one test (the family-wise rate of stale-map.ts) of their standard error, on as many
 * degrees of freedom as differences less one; the spread between layers counts as noise (a layer
 * far better than the rest does not carry the deployment).
 */
export function burstVerdict(screens: readonly (Float64Array | null)[]): BurstVerdict {
  let n = 0, sum = 0, sq = 0;
  for (const d of screens) {
    if (!d) continue;
    for (let k = 0; k < d.length; k++) {
      n++;
      sum += d[k];
      sq += d[k] * d[k];
    }
  }
  if (n < 2) return { fitted: false, gain: 0, se: 0 };
  const mean = sum / n;
  const se = Math.sqrt(Math.max(0, (sq - n * mean * mean) / (n - 1)) / n);
  return { fitted: mean > 0 && mean > staleZ(1, n) * se, gain: mean, se };
}
