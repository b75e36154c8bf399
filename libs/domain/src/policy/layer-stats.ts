import { HeatEpisodes } from '../heat/heat';

/**
 * What default needs to know of a layer's episodes before it plans the layer, in one pass over
 * its heat (the speed target is met on stationary layers, where this is most of the extra work):
 * whether its heat deviations persist from episode to episode (see heatPersists in drift.ts), and,
 * for a layer whose heat does not persist, each expert's typical level.
 */
export interface LayerStats {
  readonly persists: boolean;
  /**
   * Per expert, the mean share over the K episodes without its t highest and t lowest values,
   * t = 2 (1 under 8 episodes, 0 under 4): a burst on an expert, straddling at most two episodes,
   * does not move it.
   */
  readonly level: Float64Array;
  /** The same over the first `split` episodes (the held-out check's older half). */
  readonly olderLevel: Float64Array;
}

/** c0, c1, c2 and the energy of the expert pass, written by expertPass. */
const sums = new Float64Array(4);

/**
 * persists: the lag-1 or lag-2 autocorrelation of each expert's share minus its window mean,
 * pooled over experts, leaves the white-noise band ±2/√K (Bartlett); true with fewer than 4
 * episodes (no test). The autocovariances come from running sums (Σx, Σx², Σ x_k·x_(k−1),
 * Σ x_k·x_(k−2) and the two first and last shares), kept per expert in locals: the pass reads
 * each share once and writes nothing but the two levels.
 */
export function layerStats(heat: HeatEpisodes, layer: number, split: number): LayerStats {
  const K = heat.length;
  const E = heat[0][layer].length;
  const rows: Float64Array[] = [];
  for (let k = 0; k < K; k++) rows.push(heat[k][layer]);
  // 1 / each episode's total (0 for an all-zero episode): shares are heat × this
  const scale = scratchFor(K);
  episodeScales(rows, K, E, scale);
  const level = new Float64Array(E);
  const olderLevel = new Float64Array(E);
  const c = sums;
  expertPass(rows, scale, K, E, split, level, olderLevel, c);
  return { persists: autocorrelated(c[0], c[1], c[2], c[3], K), level, olderLevel };
}

/** scale[k] = 1 / the total of rows[k] (0 for an all-zero episode); returns nothing, as expertPass. */
function episodeScales(rows: Float64Array[], K: number, E: number, scale: Float64Array): void {
  for (let k = 0; k < K; k++) {
    const h = rows[k];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    scale[k] = total > 0 ? 1 / total : 0;
  }
}

/**
 * The pass over a layer's shares, expert by expert: the two levels, and the pooled
 * autocovariances into c (c0, c1, c2, energy). A function of its own that returns nothing: the
 * pass is compiled while its loop runs (on-stack replacement), before anything after the loop has
 * ever run, and compiled code that meets an operation it has no record of (a call, a comparison)
 * goes back to the interpreter — in every later call that enters that code. Here nothing follows
 * the loop.
 */
function expertPass(rows: Float64Array[], scale: Float64Array, K: number, E: number, split: number, level: Float64Array, olderLevel: Float64Array, c: Float64Array): void {
  let c0 = 0, c1 = 0, c2 = 0, energy = 0;
  c[0] = c[1] = c[2] = c[3] = 0;
  // expert by expert, its running figures in locals: Σx, Σx², Σ x_k·x_(k−1), Σ x_k·x_(k−2), the
  // two first and last shares, and its two highest (h1 ≥ h2) and two lowest (l1 ≤ l2) shares so
  // far — shares lie in [0, 1], so 0 and 1 stand for "none yet"
  for (let e = 0; e < E; e++) {
    let sum = 0, sq = 0, p1 = 0, p2 = 0, prev1 = 0, prev2 = 0, x0 = 0, x1 = 0;
    let h1 = 0, h2 = 0, l1 = 1, l2 = 1;
    for (let k = 0; k < K; k++) {
      const x = rows[k][e] * scale[k];
      sum += x;
      sq += x * x;
      p1 += x * prev1; // shares before episode 0 are 0: no term
      p2 += x * prev2;
      prev2 = prev1;
      prev1 = x;
      if (k === 0) x0 = x;
      else if (k === 1) x1 = x;
      // max and min as (u + v ± |u − v|) / 2: no branches, which the data would mispredict
      const da = Math.abs(h1 - x), db = Math.abs(l1 - x);
      const aLow = 0.5 * (h1 + x - da), bHigh = 0.5 * (l1 + x + db);
      h1 = 0.5 * (h1 + x + da);
      l1 = 0.5 * (l1 + x - db);
      h2 = 0.5 * (h2 + aLow + Math.abs(h2 - aLow));
      l2 = 0.5 * (l2 + bHigh - Math.abs(l2 - bHigh));
      if (k === split - 1) olderLevel[e] = trimmedMean(sum, h1, h2, l1, l2, split);
    }
    level[e] = trimmedMean(sum, h1, h2, l1, l2, K);
    if (K < 4) continue;
    // c_j = Σ_e Σ_(k ≥ j) (x_k − m)(x_(k−j) − m) = Σ_e [P_j − m·(A_j + B_j) + (K − j)·m²], with A_j
    // the sum of shares j..K−1 and B_j that of shares 0..K−1−j (prev1, prev2: the last two)
    const m = sum / K;
    energy += sq;
    c0 += sq - K * m * m;
    c1 += p1 - m * (2 * sum - x0 - prev1) + (K - 1) * m * m;
    c2 += p2 - m * (2 * sum - x0 - x1 - prev1 - prev2) + (K - 2) * m * m;
    // written per expert, inside the loop: a store after it would have no record yet
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = energy;
  }
}

/**
 * Whether the pooled lag-1 or lag-2 autocovariance (c1, c2 against c0) leaves the white-noise band
 * (true with fewer than 4 episodes: no test).
 */
function autocorrelated(c0: number, c1: number, c2: number, energy: number, K: number): boolean {
  if (K < 4) return true;
  const band = 2 / Math.sqrt(K);
  // no deviation at all (to rounding): nothing persists
  return c0 > 1e-12 * energy && (Math.abs(c1 / c0) > band || Math.abs(c2 / c0) > band);
}

/** The mean of n values without the t highest and t lowest (t by n), from running figures. */
function trimmedMean(sum: number, h1: number, h2: number, l1: number, l2: number, n: number): number {
  const t = n >= 8 ? 2 : n >= 4 ? 1 : 0;
  const inv = 1 / Math.max(1, n - 2 * t);
  const s = t === 0 ? sum : t === 1 ? sum - h1 - l1 : sum - h1 - h2 - l1 - l2;
  return s > 0 ? s * inv : 0;
}

let scratch = new Float64Array(0);

/** A buffer of n numbers, the same one from call to call while it is large enough. */
function scratchFor(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  return scratch.subarray(0, n);
}
