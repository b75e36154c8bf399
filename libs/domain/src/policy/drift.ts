import { HeatEpisodes } from '../heat/heat';
import { alignToCurrent } from '../transfer/transfer-plan';
import { LayerProblem, PlacementState } from './engine';
import { replicateMinMax } from './greedy';
import { constructVector, localSearch } from './search';
import { layerStats } from './layer-stats';

/**
 * Drifting heat: the helpers default uses when a layer's load moves steadily over the window
 * (popularity that drifts from expert to expert) instead of repeating (alternating phases) or
 * only jittering (stationary noise). Under drift every episode grouping and recency weighting
 * still plans for the past; the next interval looks like the newest episodes moved on further.
 */

/**
 * How non-stationary a layer's heat is: the squared distance between the mean heat shares of the
 * older and the newer half of episodes [0, K), over that between the odd and the even episodes.
 * Both halves and both interleavings average the same episode noise, so the ratio is near 1 for
 * stationary heat (a few units where a handful of experts dominate), far below 1 when hot sets
 * alternate from episode to episode, and far above 1 when the load drifts (the halves differ by
 * the drift, the interleavings by noise only). Returns 1 with fewer than 4 episodes.
 */
export function driftRatio(heat: HeatEpisodes, layer: number, K = heat.length): number {
  if (K < 4) return 1;
  const E = heat[0][layer].length;
  const half = K >> 1;
  const older = K - half;
  const a = new Float64Array(E), b = new Float64Array(E), o = new Float64Array(E), v = new Float64Array(E);
  const nOdd = K >> 1, nEven = K - nOdd;
  for (let k = 0; k < K; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (total <= 0) continue;
    const fh = 1 / (total * (k < older ? older : half));
    const fi = 1 / (total * (k & 1 ? nOdd : nEven));
    const side = k < older ? a : b;
    const par = k & 1 ? o : v;
    for (let e = 0; e < E; e++) {
      side[e] += h[e] * fh;
      par[e] += h[e] * fi;
    }
  }
  let dh = 0, di = 0;
  for (let e = 0; e < E; e++) {
    dh += (a[e] - b[e]) ** 2;
    di += (o[e] - v[e]) ** 2;
  }
  if (di <= 0) return dh > 0 ? Infinity : 1;
  return dh / di;
}

/**
 * Whether a layer's heat deviations persist from episode to episode: the lag-1 and lag-2
 * autocorrelations of each expert's share minus its window mean, pooled over experts. Alternating
 * phases repeat (lag 1 near −1, lag 2 near +1), drift continues (lag 1 near +1); stationary noise
 * and random spikes (a burst shorter than an episode or two, on a random expert) do not, and
 * stay within the white-noise band ±2/√K (Bartlett). True when either lag leaves that band; true
 * with fewer than 4 episodes (no test).
 */
export function heatPersists(heat: HeatEpisodes, layer: number): boolean {
  return layerStats(heat, layer, heat.length).persists;
}

/**
 * How far ahead a window of K episodes forecasts: a horizon h is learnt from the K − h pairs of its
 * episodes h apart, and the far horizons' few pairs carry their episodes' noise, not the drift —
 * planned for, a far shot's noise sets the plan's peaks. The reach ends where a horizon still has
 * a quarter of the window's episodes as pairs (as many as default's held-out check holds out).
 */
export function forecastReach(K: number): number {
  return Math.max(1, K - Math.max(1, K >> 2));
}

/**
 * Forecast of a layer's heat shares over the next `horizon` episodes (default K; at most
 * forecastReach(K)) after episodes
 * [0, K), one shot for each of `shots` equal parts of that interval. Under drift, popularity moves from
 * expert to expert while the popularity ranks themselves keep their typical fortunes: so an
 * expert's share h episodes ahead is forecast as the mean, over the window, of the share that
 * the expert holding its current rank (in the newest episode) had h episodes later — learnt from
 * the window itself, including that the hottest expert falls when its turn comes (a per-expert
 * trend would extrapolate it further up). Each part's shot pools every horizon in that part
 * (horizons beyond the reach are not forecast: the plan is for the part of the interval the window
 * can see). Returns `shots` share vectors.
 */
export function forecastShots(heat: HeatEpisodes, layer: number, K: number, shots: number, horizon = K): Float64Array[] {
  const E = heat[0][layer].length;
  const share = new Float64Array(K * E);
  // byRank[t·E + i]: the expert of rank i (hottest first) in episode t
  const byRank = new Int32Array(K * E);
  const order: number[] = new Array<number>(E);
  for (let t = 0; t < K; t++) {
    const h = heat[t][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    const f = total > 0 ? 1 / total : 0;
    const o = t * E;
    for (let e = 0; e < E; e++) {
      share[o + e] = h[e] * f;
      order[e] = e;
    }
    order.sort((x, y) => share[o + y] - share[o + x] || x - y);
    for (let i = 0; i < E; i++) byRank[o + i] = order[i];
  }
  const out: Float64Array[] = [];
  const acc = new Float64Array(E);
  const last = (K - 1) * E;
  const reach = Math.min(horizon, forecastReach(K));
  for (let j = 0; j < shots; j++) {
    // part j of the interval the forecast reaches: horizons lo..hi
    const hi = Math.max(1, Math.min(K - 1, Math.round(((j + 1) * reach) / shots)));
    const lo = Math.min(hi, Math.max(1, Math.round((j * reach) / shots) + 1));
    acc.fill(0);
    let n = 0;
    for (let h = lo; h <= hi; h++) {
      for (let t = 0; t + h < K; t++, n++) {
        const o = t * E, oh = (t + h) * E;
        for (let i = 0; i < E; i++) acc[i] += share[oh + byRank[o + i]];
      }
    }
    const y = new Float64Array(E);
    for (let i = 0; i < E; i++) y[byRank[last + i]] = acc[i] / n;
    out.push(y);
  }
  return out;
}

/**
 * Two-stage construction that sticks to the map in service: constructVector, where a rank that
 * does not hold the expert now pays `penalty` (a transfer) — so a replica stays where it is unless
 * moving it lowers the expected peak by more than the penalty. Rows come back aligned to
 * `current` (kept experts keep their slots).
 */
export function stickyConstruct(pb: LayerProblem, reps: Int32Array, current: ArrayLike<number>, penalty: number): number[] {
  const { E, R, S } = pb;
  const home = new Uint8Array(R * E);
  for (let p = 0; p < R * S; p++) home[((p / S) | 0) * E + current[p]] = 1;
  return alignToCurrent(current, Array.from(constructVector(pb, reps, { home, penalty })), S);
}

export interface DriftPlanOptions {
  /** Episodes ahead the plan is for (default: as many as it is planned from). */
  readonly horizon?: number;
  /** Forecast points over the next interval, planned for at once. */
  readonly shots: number;
  /** Price of a transfer in the construction, in units of the mean rank load. */
  readonly penalty: number;
  /** Price of a transfer in the local search that polishes the construction. */
  readonly lambda: number;
}

/**
 * A layer's map for drifting heat, planned from episodes [0, K) for the next o.horizon (default K): forecast shots,
 * sticky two-stage construction, then local search on the forecast (F − λ·transfers) from there,
 * transfers counted against `current`.
 */
export function planForDrift(
  heat: HeatEpisodes,
  layer: number,
  K: number,
  R: number,
  S: number,
  current: ArrayLike<number>,
  o: DriftPlanOptions,
): Int32Array {
  const E = heat[0][layer].length;
  const shots = forecastShots(heat, layer, K, o.shots, o.horizon ?? K);
  const w = new Float64Array(shots.length).fill(1 / shots.length);
  const pb = new LayerProblem(E, R, S, shots.length, shots, w);
  const reps = replicateMinMax(pb.hsum, R * S, R);
  const st = new PlacementState(pb, stickyConstruct(pb, reps, current, o.penalty), current);
  localSearch(st, { lambda: o.lambda, maxMoves: pb.P, spread: 3, ranks: 6, donors: 24 });
  const out = Int32Array.from(st.slot);
  st.release();
  return out;
}
