import { LayerProblem, PlacementState } from './engine';
import { replicateMinMax } from './greedy';
import { adoptReplicaCounts } from './replica-counts';
import { WalkRecord, localSearch } from './search';
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
 * is better than where the walk stopped. With `floor` (the noise floor bestWithin will read the
 * frontier with), the walk ends at its first point within the budget whose excess F − 1 is at or
 * below it (`settled`): bestWithin takes no point after that one, so walking on is wasted work.
 * With `keepCounts`, the local search after the adoption only swaps replicas between ranks: the
 * min-max counts stay (see budgetFrontier).
 */
export interface SearchPath {
  readonly rows: Int32Array[];
  readonly transfers: number[];
  /** Objective F of each point on the layer's problem. */
  readonly f: number[];
}

/** Weight of the spread next to the peak while walking (the search's own default for several shots). */
const SPREAD = 3;

export function searchPath(
  pb: LayerProblem,
  current: ArrayLike<number>,
  maxMoves: number,
  target?: () => ArrayLike<number>,
  lambda = 0,
  budget = Infinity,
  walks: { readonly follow?: WalkRecord; readonly record?: WalkRecord } = {},
  floor = -Infinity,
  keepCounts = false,
): SearchPath & { readonly settled: boolean } {
  const st = new PlacementState(pb, current);
  const rows: Int32Array[] = [Int32Array.from(st.slot)];
  const transfers: number[] = [0];
  const f: number[] = [st.objective()];
  let settled = f[0] - 1 <= floor && budget >= 0;
  const push = (): boolean => {
    const fi = st.objective();
    rows.push(Int32Array.from(st.slot));
    transfers.push(st.transfers);
    f.push(fi);
    if (fi - 1 <= floor && st.transfers <= budget) settled = true;
    return settled;
  };
  // each replica that changes hands is a point of its own: a budget may end between two of them
  if (!settled) adoptReplicaCounts(st, replicateMinMax(pb.hsum, pb.P, pb.R), SPREAD, push);
  // one point per move, up to maxMoves
  // past `budget` transfers no point is of use: the walk ends there
  if (!settled) localSearch(st, { lambda, maxMoves, ranks: 3, donors: keepCounts ? 0 : 24, spread: SPREAD, onMove: push, stop: () => st.transfers > budget || settled, ...walks });
  st.release();
  if (target && !settled) {
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
  return { rows, transfers, f, settled };
}

/**
 * Prices per transfer of the walks a budget frontier unites, as shares of the mean gain per
 * transfer that would remove the layer's whole excess within its budget: 0 takes the steepest
 * move whatever it costs (a swap of two new replicas is two transfers), the others prefer the
 * moves that gain most per transfer — the cheap ones a small budget should be spent on. Shares,
 * not absolute prices, so they mean the same on every shape and heat.
 */
const PRICE_SHARES = [0, 1 / 300, 1 / 100, 1 / 30];

/**
 * A layer's gain vs transfers frontier for a transfer `budget`: the points of several walks from
 * the map in service (searchPath), each at another price per transfer (PRICE_SHARES), united.
 * One walk is one sequence of moves: at a price of 0 the steepest moves come first and a budget
 * ends it early, at a high price it stops where moves cost more than they gain. Their union is a
 * frontier whose best point within the budget (bestWithin) is the best any of them reaches.
 * `floor`: the floor bestWithin will be asked with; the frontier ends at its first point within
 * the budget that reaches it (no later point can be picked over it), so a layer whose map is
 * flattened to the noise early in the first walk costs that walk's start only.
 * `keepCounts`: the walks keep the min-max replica counts once adopted (swaps only, no replica
 * given to another expert). A retarget that lowers the seen peak does so by taking a replica from
 * an expert whose per-replica load the min-max allotment had levelled with the others, so that
 * expert's load, and its wander between windows, is carried by fewer ranks: on the next window
 * the ranks it lands on are the more exposed, and the seen gain (often a fraction of a percent,
 * at the end of the walk) is less than that exposure costs.
 */
export function budgetFrontier(pb: LayerProblem, current: ArrayLike<number>, budget: number, target?: () => ArrayLike<number>, floor = -Infinity, keepCounts = false): SearchPath {
  const rows: Int32Array[] = [], transfers: number[] = [], f: number[] = [];
  let perTransfer = 0;
  // every walk starts from the same map: each follows the one before it while their prices pick
  // the same moves, with no scan of its own there (WalkRecord)
  let follow: WalkRecord | undefined;
  for (let w = 0; w < PRICE_SHARES.length; w++) {
    const share = PRICE_SHARES[w];
    // room for a few dozen maps of about a slot's worth of candidates each before it grows
    const record = w < PRICE_SHARES.length - 1 ? new WalkRecord(32 * pb.P) : undefined;
    const path = searchPath(pb, current, pb.P, share === 0 ? target : undefined, share * perTransfer, budget, { follow, record }, floor, keepCounts);
    follow = record;
    // the mean gain per transfer the budget needs: the excess of the map in service over it
    if (share === 0) perTransfer = Math.max(0, path.f[0] - 1) / Math.max(1, budget);
    const from = rows.length === 0 ? 0 : 1; // point 0, the map in service, once
    for (let i = from; i < path.rows.length; i++) {
      rows.push(path.rows[i]);
      transfers.push(path.transfers[i]);
      f.push(path.f[i]);
    }
    if (path.settled || !(perTransfer > 0)) break;
  }
  return { rows, transfers, f };
}

/** Where a layer goes: its new row (null: it stays on the map in service) and the transfers that takes. */
export interface LayerMove {
  readonly row: Int32Array | null;
  readonly transfers: number;
}

/**
 * Where a layer re-planned within its transfer `budget` goes: the point of lowest excess within
 * the budget (bestWithin, no floor) on the frontier from the map in service (budgetFrontier, with
 * its `target` and `keepCounts`). `row` is null where that is the map in service itself.
 */
export function lowestWithinBudget(pb: LayerProblem, current: ArrayLike<number>, budget: number, target?: () => ArrayLike<number>, keepCounts = false): LayerMove {
  const path = budgetFrontier(pb, current, budget, target, -Infinity, keepCounts);
  const i = bestWithin(path, budget, 0);
  return i > 0 ? { row: path.rows[i], transfers: path.transfers[i] } : { row: null, transfers: 0 };
}

/**
 * How far a layer shown stale is moved: the point of lowest excess F − 1 among those within
 * `budget` transfers, the excess read no finer than `floor` (the noise of the heat: below it two
 * points cannot be told apart, so of those the one with the fewest transfers is taken). 0, the
 * map in service, when no point within the budget gains beyond the noise.
 */
export function bestWithin(path: SearchPath, budget: number, floor: number): number {
  const ex = (i: number): number => Math.max(path.f[i] - 1, floor);
  let b = 0;
  for (let i = 1; i < path.f.length; i++) if (path.transfers[i] <= budget && ex(i) < ex(b) - 1e-12) b = i;
  return b;
}
