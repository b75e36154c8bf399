/**
 * A plain synthetic workload for judging the stale-map rules: a layer's experts have zipf levels
 * (the expert holding popularity rank j gets total / (j + 1)), a workload is a seeded permutation
 * of which expert holds which rank, and each window's levels wander uniformly ±`wander` about the
 * workload's (rounded to whole picks). Two windows of one workload differ by the wander alone; two
 * workloads by which experts are hot. Unlike RouterModel there is no per-step Poisson counting:
 * the wander is all the noise, and it is set directly.
 */

/**
 * One step of the linear congruential generator x → (1103515245 x + 12345) mod 2³¹, computed in
 * doubles as the stale-map spec always has (its figures depend on this exact sequence, rounding
 * included).
 */
const lcgStep = (x: number): number => (x * 1103515245 + 12345) % 2147483648;

/** Seeded uniform draws in [0, 1) from that generator. */
export function lcgUniform(seed: number): () => number {
  let s = seed;
  return () => (s = lcgStep(s)) / 2147483648;
}

/** A workload: perm[e] = the popularity rank (0 = hottest) of expert e, a seeded Fisher–Yates shuffle. */
export function zipfWorkload(numExperts: number, shuffleSeed: number): number[] {
  const perm = Array.from({ length: numExperts }, (_, i) => i);
  let s = shuffleSeed;
  for (let i = numExperts - 1; i > 0; i--) {
    s = lcgStep(s);
    const j = s % (i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

/** One layer's levels in one window: total / (rank + 1), each times a uniform draw in [1 − wander, 1 + wander]. */
export function zipfLevels(perm: readonly number[], total: number, wander: number, u: () => number): Float64Array {
  return Float64Array.from({ length: perm.length }, (_, e) => Math.round((total / (perm[e] + 1)) * (1 - wander + 2 * wander * u())));
}

/** One window (episode) of `numLayers` layers of the same workload, each layer's wander drawn anew. */
export function zipfWindow(perm: readonly number[], numLayers: number, total: number, wander: number, u: () => number): Float64Array[] {
  return Array.from({ length: numLayers }, () => zipfLevels(perm, total, wander, u));
}
