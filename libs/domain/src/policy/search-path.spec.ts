import { describe, expect, it } from 'vitest';
import { LayerProblem, PlacementState } from './engine';
import { greedyLayer, replicateMinMax } from './greedy';
import { adoptReplicaCounts } from './replica-counts';
import { SearchPath, bestWithin, budgetFrontier, searchPath } from './search-path';

// a frontier read only through its transfers and objectives
const path = (transfers: number[], f: number[]): SearchPath => ({ rows: transfers.map(() => new Int32Array(0)), transfers, f });

/**
 * Stale maps of seeded random heat, in shapes with plenty of swap and donor candidates: per shape
 * and budget, the problem (the heat now) and the map in service (a greedy of the heat before).
 */
function* staleMaps(seed: number): Generator<{ problem: LayerProblem; from: Int32Array; budget: number }> {
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const [e, r, s] of [[24, 4, 8], [40, 8, 6], [64, 16, 5]]) {
    const was = Float64Array.from({ length: e }, () => 1000 * rand() ** 3);
    const is = Float64Array.from({ length: e }, () => 1000 * rand() ** 3);
    const from = greedyLayer(was, r, s);
    const problem = new LayerProblem(e, r, s, 1, [is], Float64Array.of(1));
    for (const budget of [4, 12, 40]) yield { problem, from, budget };
  }
}

describe('bestWithin', () => {
  const p = path([0, 4, 8, 12, 20], [1.5, 1.2, 1.1, 1.05, 1.04]);

  it('takes the lowest objective the budget reaches, never a point beyond it', () => {
    expect(bestWithin(p, 12, 0)).toBe(3);
    expect(bestWithin(p, 11, 0)).toBe(2);
    expect(bestWithin(p, 100, 0)).toBe(4);
    expect(bestWithin(p, 3, 0)).toBe(0);
  });

  it('reads the excess no finer than the noise floor: of points it cannot tell apart, the one with the fewest transfers', () => {
    const floor = p.f[2] - 1;
    expect(bestWithin(p, 100, floor)).toBe(2);
    // a map in service already within the noise stays
    expect(bestWithin(path([0, 5], [1.01, 1.001]), 100, 0.02)).toBe(0);
  });
});

describe('searchPath', () => {
  it('records every replica that changes hands as a point of its own, so a budget can end between two of them', () => {
    // two hot experts (0 and 7) with one replica each, the redundant slots on cold ones
    const current = [4, 0, 1, 5, 1, 2, 6, 2, 3, 7, 3, 0];
    const h = Float64Array.from([600, 10, 10, 10, 10, 10, 10, 500]);
    const p = searchPath(new LayerProblem(8, 4, 3, 1, [h], Float64Array.of(1)), current, 12);
    expect(p.transfers[0]).toBe(0);
    for (let i = 1; i < p.transfers.length; i++) expect(p.transfers[i] - p.transfers[i - 1]).toBeLessThanOrEqual(2);
    expect(p.transfers[1]).toBe(1);
    expect(Math.min(...p.f)).toBeLessThan(p.f[0]);
  });
});

describe('budgetFrontier', () => {
  // a stale map: planned for one hot set, the traffic now heats other experts
  const E = 24, R = 4, S = 8;
  const old = Float64Array.from({ length: E }, (_, e) => 1000 / (1 + e));
  const now = Float64Array.from({ length: E }, (_, e) => 1000 / (1 + ((e * 7 + 5) % E)));
  const current = greedyLayer(old, R, S);
  const pb = new LayerProblem(E, R, S, 1, [now], Float64Array.of(1));

  it('reaches within every budget at least what the steepest walk alone reaches there', () => {
    const walk = searchPath(pb, current, pb.P);
    for (const budget of [2, 4, 8, 12, 20]) {
      const frontier = budgetFrontier(pb, current, budget);
      const a = frontier.f[bestWithin(frontier, budget, 0)];
      expect(a).toBeLessThanOrEqual(walk.f[bestWithin(walk, budget, 0)] + 1e-12);
      expect(a).toBeLessThan(frontier.f[0]);
    }
  });

  it('is the union of its walks made one by one: a walk that follows the one before it makes the same moves a scan of its own would', () => {
    let followed = 0;
    for (const { problem, from, budget } of staleMaps(7)) {
      const frontier = budgetFrontier(problem, from, budget);
      // the same walks, each scanning every map itself (as budgetFrontier's prices)
      const first = searchPath(problem, from, problem.P, undefined, 0, budget);
      const perTransfer = Math.max(0, first.f[0] - 1) / Math.max(1, budget);
      const alone = [first, ...[1 / 300, 1 / 100, 1 / 30].map((share) => searchPath(problem, from, problem.P, undefined, share * perTransfer, budget))];
      const rows = alone.flatMap((p, w) => p.rows.slice(w === 0 ? 0 : 1).map((row) => Array.from(row)));
      expect(frontier.rows.map((row) => Array.from(row))).toEqual(rows);
      expect(frontier.f).toEqual(alone.flatMap((p, w) => p.f.slice(w === 0 ? 0 : 1)));
      // points the second walk shares with the first beyond the counts adopted: moves it followed
      const st = new PlacementState(problem, from);
      let adopted = 1;
      adoptReplicaCounts(st, replicateMinMax(problem.hsum, problem.P, problem.R), 3, () => {
        adopted++;
      });
      let i = 0;
      while (i < first.rows.length && i < alone[1].rows.length && first.rows[i].every((x, j) => x === alone[1].rows[i][j])) i++;
      followed += Math.max(0, i - adopted);
    }
    expect(followed).toBeGreaterThan(0);
  });

  it('with a floor, ends at the first point within the budget that reaches it: bestWithin picks the same map, from fewer points', () => {
    let shorter = 0;
    for (const { problem, from, budget } of staleMaps(11)) {
      const full = budgetFrontier(problem, from, budget);
      // floors from below the best point's excess (nothing reached: the whole frontier) to above the map in service's
      for (const floor of [0, 0.005, 0.02, 0.05, 0.2, 1]) {
        const cut = budgetFrontier(problem, from, budget, undefined, floor);
        const i = bestWithin(full, budget, floor), j = bestWithin(cut, budget, floor);
        expect(Array.from(cut.rows[j])).toEqual(Array.from(full.rows[i]));
        expect(cut.transfers[j]).toBe(full.transfers[i]);
        // the points it has are the full frontier's first ones
        expect(cut.f).toEqual(full.f.slice(0, cut.f.length));
        if (cut.f.length < full.f.length) shorter++;
      }
    }
    expect(shorter).toBeGreaterThan(0);
  });

  it('holds the map in service once, as point 0, and every point within the slots', () => {
    const frontier = budgetFrontier(pb, current, 6);
    expect(Array.from(frontier.rows[0])).toEqual(Array.from(current));
    expect(frontier.transfers.filter((t, i) => t === 0 && frontier.f[i] === frontier.f[0]).length).toBeGreaterThanOrEqual(1);
    expect(frontier.rows.slice(1).every((row) => !row.every((e, p) => e === current[p]))).toBe(true);
    expect(Math.max(...frontier.transfers)).toBeLessThanOrEqual(R * S);
  });
  it('with keepCounts, a walk past the count adoption changes no replica count (it only swaps)', () => {
    let walked = 0;
    for (const { problem, from, budget } of staleMaps(11)) {
      const reps = replicateMinMax(problem.hsum, problem.P, problem.R);
      const walk = searchPath(problem, from, problem.P, undefined, 0, budget, {}, -Infinity, true);
      const atMinMax = walk.rows.map((row) => {
        const counts = new Int32Array(problem.E);
        for (const e of row) counts[e]++;
        return counts.every((c, e) => c === reps[e]);
      });
      const first = atMinMax.indexOf(true);
      if (first < 0) continue;
      walked++;
      expect(atMinMax.slice(first).every(Boolean)).toBe(true);
    }
    expect(walked).toBeGreaterThan(0);
  });
});
