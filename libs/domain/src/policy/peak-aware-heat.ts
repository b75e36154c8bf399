import { HeatEpisodes } from '../heat/heat';
import { replicateMinMax } from './greedy';
import { normalQuantile } from './distributions';

/**
 * A layer's heat for a plan judged by the per-episode peak of the next interval: each expert's
 * mean share plus what its episode-to-episode wandering adds to the expected peak.
 *
 * The next interval's episode k loads rank r with μ_r + ε_r, where μ_r is what the plan puts
 * there on average and ε_r wanders with the experts on it: var ε_r = Σ_e v_e / c_e² over the
 * replicas on r (an expert's share v_e, split evenly over its c_e replicas). The expected peak is
 * about max_r (μ_r + z·σ_r), z the expected largest of R standard normals (Blom's approximation),
 * and to first order around the ranks' typical σ̄, σ_r ≈ σ̄ + (σ_r² − σ̄²) / (2σ̄): each replica of e
 * weighs μ_e / c_e + z·v_e / (2σ̄·c_e²) — an expert whose traffic wanders more than its mean says
 * is planned as if hotter, so that a rank of such experts is given less mean load, and the
 * min-max replica counts give it more replicas, which spread its wandering. Where every expert
 * wanders in proportion to its mean (counting noise alone), the shares barely change.
 *
 * Shares are per episode, scaled so that the mean rank load is 1 (as LayerProblem scales heat).
 * The location is `level` when given (an expert's typical share, robust to bursts), else the mean
 * weighted by `w` (the policy's recency weights); the wandering v_e is read from the median
 * absolute deviation about it (1.4826·MAD estimates the sd of normal wandering), so that a burst
 * on an expert in an episode or two — which the next interval will not repeat on that expert —
 * does not make it look wayward. With fewer than 3 episodes of heat there is no wandering to
 * measure: the location is returned as it is.
 */
export function peakAwareHeat(heat: HeatEpisodes, layer: number, R: number, S: number, w: ArrayLike<number>, level?: ArrayLike<number>): Float64Array {
  const { shares, mu } = episodeShares(heat, layer, R, w);
  const E = mu.length;
  // a level is in shares of the total (layerStats): scaled as the episodes are
  const loc = level ? Float64Array.from(level, (x) => x * R) : mu;
  const n = shares.length;
  if (n < 3 || R < 2) return loc;
  const c = replicateMinMax(loc, R * S, R);
  const v = new Float64Array(E);
  const dev = new Float64Array(n);
  let vsum = 0, lsum = 0;
  for (let e = 0; e < E; e++) {
    for (let k = 0; k < n; k++) dev[k] = Math.abs(shares[k][e] - loc[e]);
    dev.sort();
    const mad = n & 1 ? dev[n >> 1] : 0.5 * (dev[(n >> 1) - 1] + dev[n >> 1]);
    v[e] = (1.4826 * mad) ** 2;
    vsum += v[e];
    lsum += loc[e];
  }
  shrinkToDispersion(v, loc, vsum / Math.max(lsum, 1e-300), n);
  let total = 0;
  for (let e = 0; e < E; e++) total += v[e] / c[e];
  // the ranks' typical sd: the replicas' variance spread over the R ranks
  const sigma = Math.sqrt(total / R);
  if (!(sigma > 0)) return loc;
  const z = normalQuantile((R - 0.375) / (R + 0.25));
  const out = new Float64Array(E);
  for (let e = 0; e < E; e++) out[e] = loc[e] + (z * v[e]) / (2 * sigma * c[e]);
  return out;
}

/** Efficiency of the median absolute deviation as an estimate of a normal sd, against the sample sd. */
const MAD_EFFICIENCY = 0.37;

/**
 * Empirical Bayes for the experts' wandering: counts wander about in proportion to their mean
 * (Poisson counting, times a dispersion φ common to the layer), and an expert's own estimate from
 * n episodes is noisy — a variance from n values has a relative sampling variance of about
 * 2 / (n − 1), more for one read from the MAD. Each expert's ratio r_e = v_e / (φ·loc_e) is pulled
 * towards 1 by the share of its spread across experts that this sampling noise does not explain:
 * v_e ← φ·loc_e·(1 + λ(r_e − 1)), λ = τ² / (τ² + s²), τ² = max(0, var r − s²). Where experts truly
 * differ in how they wander (real routing), λ is near 1; where they differ by sampling only
 * (counting noise), λ is near 0 and the plan follows the counts' model.
 */
function shrinkToDispersion(v: Float64Array, loc: ArrayLike<number>, phi: number, n: number): void {
  const E = v.length;
  const s2 = 2 / (MAD_EFFICIENCY * (n - 1));
  let m = 0, q = 0, c = 0;
  for (let e = 0; e < E; e++) {
    if (!(loc[e] > 0) || !(phi > 0)) continue;
    const r = v[e] / (phi * loc[e]);
    m += r;
    q += r * r;
    c++;
  }
  if (c < 2) return;
  m /= c;
  const tau2 = Math.max(0, (q - c * m * m) / (c - 1) - s2);
  const lambda = tau2 / (tau2 + s2);
  for (let e = 0; e < E; e++) {
    const model = phi * loc[e];
    v[e] = model > 0 ? model * (1 + lambda * (v[e] / model - 1)) : v[e];
  }
}

/**
 * Each expert's mean share over the episodes, weighted by `w` (the location peakAwareHeat starts
 * from, without what the wandering adds), scaled so that the mean rank load is 1.
 */
export function meanShareHeat(heat: HeatEpisodes, layer: number, R: number, w: ArrayLike<number>): Float64Array {
  return episodeShares(heat, layer, R, w).mu;
}

/** Per episode with any heat, each expert's share scaled to a mean rank load of 1, and their mean weighted by `w`. */
function episodeShares(heat: HeatEpisodes, layer: number, R: number, w: ArrayLike<number>): { readonly shares: Float64Array[]; readonly mu: Float64Array } {
  const K = heat.length;
  const E = heat[0][layer].length;
  const shares: Float64Array[] = [];
  const mu = new Float64Array(E);
  let wsum = 0;
  for (let k = 0; k < K; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (!(total > 0)) continue;
    const x = new Float64Array(E);
    for (let e = 0; e < E; e++) x[e] = (h[e] * R) / total;
    shares.push(x);
    wsum += w[k];
    for (let e = 0; e < E; e++) mu[e] += w[k] * x[e];
  }
  if (wsum > 0) for (let e = 0; e < E; e++) mu[e] /= wsum;
  return { shares, mu };
}
