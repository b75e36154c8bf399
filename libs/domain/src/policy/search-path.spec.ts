import { describe, expect, it } from 'vitest';
import { LayerProblem } from './engine';
import { greedyLayer } from './greedy';
import { SearchPath, bestWithin, budgetFrontier, searchPath } from './search-path';

// a frontier read only through its transfers and objectives
const path = (transfers: number[], f: number[]): SearchPath => ({ rows: transfers.map(() => new Int32Array(0)), transfers, f });

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

  it('holds the map in service once, as point 0, and every point within the slots', () => {
    const frontier = budgetFrontier(pb, current, 6);
    expect(Array.from(frontier.rows[0])).toEqual(Array.from(current));
    expect(frontier.transfers.filter((t, i) => t === 0 && frontier.f[i] === frontier.f[0]).length).toBeGreaterThanOrEqual(1);
    expect(frontier.rows.slice(1).every((row) => !row.every((e, p) => e === current[p]))).toBe(true);
    expect(Math.max(...frontier.transfers)).toBeLessThanOrEqual(R * S);
  });
});
