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

/**
 * persists: the lag-1 or lag-2 autocorrelation of each expert's share minus its window mean,
 * pooled over experts, leaves the white-noise band ±2/√K (Bartlett); true with fewer than 4
 * episodes (no test). The autocovariances come from running sums (Σx, Σx², Σ x_k·x_(k−1),
 * Σ x_k·x_(k−2) and the two first and last rows), so the pass keeps only three rows of shares.
 */
export function layerStats(heat: HeatEpisodes, layer: number, split: number): LayerStats {
  const K = heat.length;
  const E = heat[0][layer].length;
  // the running figures live in one scratch buffer reused from call to call (the pass runs on
  // every layer; fresh arrays per layer cost more in allocation and collection than the pass)
  const buf = scratchFor(E);
  const sum = buf.subarray(0, E), sq = buf.subarray(E, 2 * E), p1 = buf.subarray(2 * E, 3 * E), p2 = buf.subarray(3 * E, 4 * E);
  // rows k − 1 and k − 2 (ring of three), and rows 0 and 1 for the lagged sums' ends
  const ring = buf.subarray(4 * E, 7 * E);
  const first = buf.subarray(7 * E, 9 * E);
  // per expert its two highest (h1 ≥ h2) and two lowest (l1 ≤ l2) shares so far; shares lie in
  // [0, 1], so 0 and 1 stand for "none yet"
  const h1 = buf.subarray(9 * E, 10 * E), h2 = buf.subarray(10 * E, 11 * E);
  const l1 = buf.subarray(11 * E, 12 * E), l2 = buf.subarray(12 * E, 13 * E);
  buf.fill(0, 0, 11 * E);
  buf.fill(1, 11 * E, 13 * E);
  const olderLevel = new Float64Array(E);
  for (let k = 0; k < K; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    const f = total > 0 ? 1 / total : 0;
    const o = (k % 3) * E, o1 = ((k + 2) % 3) * E, o2 = ((k + 1) % 3) * E;
    for (let e = 0; e < E; e++) {
      const x = h[e] * f;
      ring[o + e] = x;
      sum[e] += x;
      sq[e] += x * x;
      p1[e] += x * ring[o1 + e]; // rows before 0 are 0 in the ring: no term
      p2[e] += x * ring[o2 + e];
      // max and min as (u + v ± |u − v|) / 2: no branches, which the data would mispredict
      const a = h1[e], b = l1[e];
      const da = Math.abs(a - x), db = Math.abs(b - x);
      const aLow = 0.5 * (a + x - da), bHigh = 0.5 * (b + x + db);
      h1[e] = 0.5 * (a + x + da);
      l1[e] = 0.5 * (b + x - db);
      const c = h2[e], d = l2[e];
      h2[e] = 0.5 * (c + aLow + Math.abs(c - aLow));
      l2[e] = 0.5 * (d + bHigh - Math.abs(d - bHigh));
    }
    if (k < 2) first.set(ring.subarray(o, o + E), k * E);
    if (k === split - 1) trimmedMean(olderLevel, sum, h1, h2, l1, l2, split);
  }
  const level = new Float64Array(E);
  trimmedMean(level, sum, h1, h2, l1, l2, K);
  if (K < 4) return { persists: true, level, olderLevel };
  // c_j = Σ_e Σ_(k ≥ j) (x_k − m)(x_(k−j) − m) = Σ_e [P_j − m·(A_j + B_j) + (K − j)·m²], with A_j the
  // sum of rows j..K−1 and B_j that of rows 0..K−1−j
  const last = ((K - 1) % 3) * E, prev = ((K - 2) % 3) * E;
  let c0 = 0, c1 = 0, c2 = 0, energy = 0;
  for (let e = 0; e < E; e++) {
    const s = sum[e], m = s / K;
    energy += sq[e];
    c0 += sq[e] - K * m * m;
    c1 += p1[e] - m * (2 * s - first[e] - ring[last + e]) + (K - 1) * m * m;
    c2 += p2[e] - m * (2 * s - first[e] - first[E + e] - ring[last + e] - ring[prev + e]) + (K - 2) * m * m;
  }
  const band = 2 / Math.sqrt(K);
  // no deviation at all (to rounding): nothing persists
  const persists = c0 > 1e-12 * energy && (Math.abs(c1 / c0) > band || Math.abs(c2 / c0) > band);
  return { persists, level, olderLevel };
}

/** out[e] = the mean of n values without the t highest and t lowest (t by n), from running figures. */
function trimmedMean(
  out: Float64Array,
  sum: Float64Array,
  h1: Float64Array,
  h2: Float64Array,
  l1: Float64Array,
  l2: Float64Array,
  n: number,
): void {
  const t = n >= 8 ? 2 : n >= 4 ? 1 : 0;
  const inv = 1 / Math.max(1, n - 2 * t);
  for (let e = 0; e < out.length; e++) {
    const s = t === 0 ? sum[e] : t === 1 ? sum[e] - h1[e] - l1[e] : sum[e] - h1[e] - h2[e] - l1[e] - l2[e];
    out[e] = s > 0 ? s * inv : 0;
  }
}

let scratch = new Float64Array(0);

/** A buffer of at least 13·E numbers, the same one from call to call while it is large enough. */
function scratchFor(E: number): Float64Array {
  if (scratch.length < 13 * E) scratch = new Float64Array(13 * E);
  return scratch.subarray(0, 13 * E);
}
