import { describe, expect, it } from 'vitest';
import { SearchPath, bestWithin } from './search-path';

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
