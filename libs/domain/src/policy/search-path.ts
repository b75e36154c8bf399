import { LayerProblem, PlacementState } from './engine';
import { replicateMinMax } from './greedy';
import { adoptReplicaCounts } from './replica-counts';
import { localSearch } from './search';
import { matchRanks } from './rank-matching';

/**
 * A layer's gain vs transfers frontier from the map in service: the maps met on the way from it
 * to a fresh plan for the layer's problem that keeps every slot that need not move. First the
 * replica counts the min-max allotment gives the problem's heat are adopted (a replica changes
 * hands only where a count changes), then local search with no price on transfers walks to a
 * local optimum, one move at a time, around the ranks that set the peaks. Point 0 is the map in
 * service; the objective may rise while counts are adopted, so callers read the frontier as
 * "the best point within a transfer budget". With `target` (a from-scratch plan of the problem,
 * flash-class), that plan with its ranks matched to the map in service ends the frontier when it
 * is better than where the walk stopped.
 */
export interface SearchPath {
  readonly rows: Int32Array[];
  readonly transfers: number[];
  /** Objective F of each point on the layer's problem. */
  readonly f: number[];
}

/** Weight of the spread next to the peak while walking (the search's own default for several shots). */
const SPREAD = 3;

export function searchPath(pb: LayerProblem, current: ArrayLike<number>, maxMoves: number, target?: () => ArrayLike<number>): SearchPath {
  const st = new PlacementState(pb, current);
  const rows: Int32Array[] = [Int32Array.from(st.slot)];
  const transfers: number[] = [0];
  const f: number[] = [st.objective()];
  const push = (): void => {
    rows.push(Int32Array.from(st.slot));
    transfers.push(st.transfers);
    f.push(st.objective());
  };
  adoptReplicaCounts(st, replicateMinMax(pb.hsum, pb.P, pb.R), SPREAD);
  if (st.transfers > 0) push();
  // one point per move, up to maxMoves
  localSearch(st, { lambda: 0, maxMoves, ranks: 3, donors: 24, spread: SPREAD, onMove: push });
  st.release();
  if (target) {
    // the fresh plan, its ranks matched to the map in service: the frontier's far end when local
    // search from the map in service stops short of it
    const far = new PlacementState(pb, matchRanks(current, target(), pb.R, pb.S, pb.E), current);
    if (far.objective() < Math.min(...f) - 1e-12) {
      rows.push(Int32Array.from(far.slot));
      transfers.push(far.transfers);
      f.push(far.objective());
    }
    far.release();
  }
  return { rows, transfers, f };
}

/**
 * The index of the frontier's knee. The frontier is read in log excess, ln(F − 1): imbalance
 * excess matters relatively (halving it from 0.02 to 0.01 is worth what halving it from 0.2 to
 * 0.1 is), and below `floor` (the noise of the heat) an excess cannot be told from 0. On the
 * best-so-far curve (log-excess gain against transfers, both scaled to [0, 1] by the path's ends)
 * the knee is the point farthest above the chord from "stay" to "the whole path" — where the gain
 * per further transfer drops below the path's average (Kneedle; no scale or constant enters); the
 * whole path when no point lies above the chord. 0 when nothing is gained.
 */
export function kneeIndex(path: SearchPath, floor: number): number {
  const n = path.f.length;
  const best = bestSoFar(path);
  const lg = (f: number): number => Math.log(Math.max(f - 1, floor, 1e-12));
  const g0 = lg(path.f[0]);
  const gMax = g0 - lg(path.f[best[n - 1]]);
  const tMax = path.transfers[best[n - 1]];
  if (!(gMax > 0) || !(tMax > 0)) return 0;
  // no point above the chord (one step, or gains that come as fast late as early): the whole path
  let arg = best[n - 1], top = 0;
  for (let i = 1; i < n; i++) {
    if (best[i] !== i) continue;
    const d = (g0 - lg(path.f[i])) / gMax - path.transfers[i] / tMax;
    if (d > top + 1e-12) {
      top = d;
      arg = i;
    }
  }
  return arg;
}

/** best[i]: the point of lowest F among 0..i (the frontier read as "the best within a budget"). */
export function bestSoFar(path: SearchPath): Int32Array {
  const n = path.f.length;
  const best = new Int32Array(n);
  for (let i = 1; i < n; i++) best[i] = path.f[i] < path.f[best[i - 1]] - 1e-12 ? i : best[i - 1];
  return best;
}
