import { HeatEpisodes, windowSum } from '../heat/heat';
import { LayerProblem } from './engine';
import { greedyLayer } from './greedy';
import { episodeImbalances, pairedGain } from './episode-imbalance';
import { kneeIndex, searchPath } from './search-path';

/**
 * Is the map in service stale for a layer (the traffic it was planned for has gone), and if so
 * how far to move it? The answer and how sure it is.
 */
export interface StaleVerdict {
  /** The map to deploy, or null: keep the map in service (not shown stale). */
  readonly row: Int32Array | null;
  readonly transfers: number;
  /**
   * 'held-out': a fresh plan made from the older half of the episodes was judged against the map
   * in service on the newer half; gain and se are that judgement's mean per-episode gain and its
   * standard error. 'one-window': too few episodes to hold any out; gain is the plan's on the
   * window itself and se the counting noise of the heat (a Poisson count n has sd √n), which says
   * nothing of how the traffic will change.
   */
  readonly basis: 'held-out' | 'one-window';
  readonly gain: number;
  readonly se: number;
}

/**
 * z of the held-out test: the fresh plan must beat the map in service by two standard errors of
 * the per-episode differences (one-sided ≈ 97.5%: the test runs on every layer, so a looser one
 * would re-plan a stationary layer in every few dozen by chance).
 */
const STALE_Z = 2;

/**
 * z on one window: the one-standard-error rule of default's other checks. The counting se it is
 * applied to is an upper bound (the two maps' errors are added as if independent, though they
 * share the counts), so the rule is stricter than one se of the gain itself.
 */
const ONE_WINDOW_Z = 1;

/**
 * With at least 4 episodes the question is answered out of sample: the plain greedy planned on
 * the older half of the episodes (their sum, or `olderLevel`: each expert's typical level there,
 * for heat whose deviations do not persist, so that a burst does not make the plan) is judged
 * against the map in service on the newer half. Under
 * stationary heat a map planned from other noise does no better than the map in service (both
 * were planned from heat like it); a stale map loses to any fresh plan, by far more than the
 * episode noise. This test is cheap enough for every layer (the speed target is met on layers
 * that stay). With fewer episodes there is nothing to hold out: the window's own gain must exceed
 * both minGain and the counting noise (ONE_WINDOW_Z).
 *
 * How far to move: the layer's frontier from the map in service (searchPath on `pb`) is cut at its
 * knee (kneeIndex), the point past which each further transfer buys less than the average one.
 */
export function staleVerdict(
  heat: HeatEpisodes,
  layer: number,
  current: ArrayLike<number>,
  R: number,
  S: number,
  pb: LayerProblem,
  olderLevel: ArrayLike<number> | null,
  minGain: number,
  target?: () => ArrayLike<number>,
): StaleVerdict {
  const K = heat.length;
  if (K >= 4) {
    const split = K - (K >> 1);
    const base = episodeImbalances(heat, layer, split, K, current, R, S);
    const fresh = greedyLayer(olderLevel ?? windowSum(heat.slice(0, split), layer), R, S);
    const test = pairedGain(base, episodeImbalances(heat, layer, split, K, fresh, R, S));
    if (!(test.mean > STALE_Z * test.se)) return { row: null, transfers: 0, basis: 'held-out', gain: test.mean, se: test.se };
    const path = searchPath(pb, current, pb.P, target);
    const i = kneeIndex(path, test.se);
    return { row: i > 0 ? path.rows[i] : null, transfers: path.transfers[i], basis: 'held-out', gain: test.mean, se: test.se };
  }
  const path = searchPath(pb, current, pb.P, target);
  const floor = countingNoise(heat, layer, current, current, R, S);
  const i = kneeIndex(path, floor);
  const gain = path.f[0] - path.f[i];
  const se = countingNoise(heat, layer, current, path.rows[i], R, S);
  const take = i > 0 && gain >= minGain && gain > ONE_WINDOW_Z * se;
  return { row: take ? path.rows[i] : null, transfers: take ? path.transfers[i] : 0, basis: 'one-window', gain, se };
}

/**
 * Standard error of the window's imbalance gain from counting alone: the heat of an expert is a
 * count of token picks, Poisson with sd √count, so a rank's load (a sum of counts over replica
 * shares) has sd about √load, and the imbalance max/mean about imbalance/√(peak load). The two
 * maps' errors are added in quadrature (an upper bound: they share the counts). 0 when the heat is
 * all zero.
 */
function countingNoise(heat: HeatEpisodes, layer: number, a: ArrayLike<number>, b: ArrayLike<number>, R: number, S: number): number {
  const h = windowSum(heat, layer);
  const peak = (row: ArrayLike<number>): [number, number] => {
    const reps = new Int32Array(h.length);
    for (let p = 0; p < R * S; p++) reps[row[p]]++;
    let m = 0, total = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let load = 0;
      for (let j = 0; j < S; j++, p++) load += h[row[p]] / reps[row[p]];
      total += load;
      if (load > m) m = load;
    }
    return [m, total];
  };
  const [ma, total] = peak(a);
  const [mb] = peak(b);
  if (!(total > 0)) return 0;
  const ia = (ma * R) / total, ib = (mb * R) / total;
  return Math.sqrt((ia * ia) / Math.max(1, ma) + (ib * ib) / Math.max(1, mb));
}
