import { invalid } from '../errors';
import { DeploymentShape } from '../shape/deployment-shape';

/**
 * Planning around lost ranks. The ranks named in excludeRanks serve nothing and can receive no
 * weights, so a plan is made for the live ranks alone (R − |excluded| ranks of S slots) and every
 * logical expert gets a replica on a live rank. That needs E ≤ (R − |excluded|)·S: with fewer
 * live slots than experts some expert could not be served at all, and the request is refused.
 *
 * What the excluded ranks' slots hold (the map must still name a logical expert in every slot):
 * - with a map in service, what they hold now — no transfer can reach a lost rank, and a rank that
 *   comes back finds its weights where it left them;
 * - without one, the experts of a live rank (live rank i mod the live count, slot by slot), so a
 *   rank that comes back serves as a copy of a live rank: never two replicas of one expert on it.
 * Figures (imbalance, transfers) are of the live ranks: the excluded ranks carry no load.
 */
export function liveRanks(R: number, exclude: readonly number[]): number[] {
  const out: number[] = [];
  const gone = new Set(exclude);
  for (let r = 0; r < R; r++) if (!gone.has(r)) out.push(r);
  return out;
}

/** Throws a DomainError when excludeRanks is not a set of ranks of the shape leaving room for every expert. */
export function assertExcludeRanks(exclude: readonly number[], shape: DeploymentShape): void {
  const { numRanks: R, slotsPerRank: S, numExperts: E } = shape;
  const seen = new Set<number>();
  for (const r of exclude) {
    if (!Number.isInteger(r) || r < 0 || r >= R) throw invalid('excludeRanks', `rank ${String(r)} is not a rank of 0..${R - 1}`);
    if (seen.has(r)) throw invalid('excludeRanks', `rank ${r} is named twice`);
    seen.add(r);
  }
  const live = R - seen.size;
  if (live * S < E) {
    throw invalid('excludeRanks', `the ${live} live ranks hold ${live * S} slots, fewer than the ${E} logical experts`);
  }
}

/** The shape of the live ranks alone: one node, no groups (the lost ranks break both layouts). */
export function liveShape(shape: DeploymentShape, live: readonly number[]): DeploymentShape {
  return { numLayers: shape.numLayers, numExperts: shape.numExperts, numRanks: live.length, slotsPerRank: shape.slotsPerRank, numNodes: 1 };
}

/**
 * The map in service on the live ranks, with every expert that has no replica left there given
 * one, with one transfer each and nothing else moved: hottest lost expert first, into the slot of
 * an expert that keeps another live replica, on the rank whose load ends lowest (a rank that
 * holds the expert already is never chosen).
 */
export function reviveOnLiveRanks(row: ArrayLike<number>, live: readonly number[], S: number, E: number, h: ArrayLike<number>): number[] {
  const R = live.length;
  const sub: number[] = [];
  for (const r of live) for (let j = 0; j < S; j++) sub.push(row[r * S + j]);
  const reps = new Int32Array(E);
  for (const e of sub) reps[e]++;
  const lost: number[] = [];
  for (let e = 0; e < E; e++) if (reps[e] === 0) lost.push(e);
  lost.sort((a, b) => h[b] - h[a] || a - b);
  for (const e of lost) {
    const load = new Float64Array(R);
    for (let p = 0; p < sub.length; p++) load[(p / S) | 0] += h[sub[p]] / reps[sub[p]];
    let best = -1, bestLoad = Infinity;
    for (let p = 0; p < sub.length; p++) {
      const d = sub[p], r = (p / S) | 0;
      if (reps[d] < 2) continue;
      let holds = false;
      for (let q = r * S; q < r * S + S && !holds; q++) holds = sub[q] === e;
      if (holds) continue;
      const after = load[r] - h[d] / reps[d] + h[e];
      if (after < bestLoad) {
        bestLoad = after;
        best = p;
      }
    }
    // E ≤ live slots guarantees an expert with two live replicas while one is lost
    reps[sub[best]]--;
    sub[best] = e;
    reps[e]++;
  }
  return sub;
}

/** A full row from the live ranks' row: live ranks from `sub`, excluded ones as the module says. */
export function expandRow(sub: ArrayLike<number>, live: readonly number[], R: number, S: number, current: ArrayLike<number> | undefined): number[] {
  const out = new Array<number>(R * S);
  const at = new Int32Array(R).fill(-1);
  live.forEach((r, i) => (at[r] = i));
  let k = 0;
  for (let r = 0; r < R; r++) {
    const i = at[r];
    for (let j = 0; j < S; j++) {
      if (i >= 0) out[r * S + j] = sub[i * S + j];
      else if (current) out[r * S + j] = current[r * S + j];
      else out[r * S + j] = sub[(k % live.length) * S + j];
    }
    if (i < 0) k++;
  }
  return out;
}
