import { describe, expect, it } from 'vitest';
import { LayerProblem } from './engine';
import { SearchPath, bestWithin, searchPath } from './search-path';

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
