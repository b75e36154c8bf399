import { describe, expect, it } from 'vitest';
import { lcgUniform, zipfLevels, zipfWindow, zipfWorkload } from './zipf-windows';

describe('zipf windows', () => {
  it('draws the same uniform sequence for the same seed, within [0, 1)', () => {
    const a = lcgUniform(11), b = lcgUniform(11), c = lcgUniform(12);
    const xs = Array.from({ length: 200 }, a);
    expect(Array.from({ length: 200 }, b)).toEqual(xs);
    expect(Array.from({ length: 200 }, c)).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    // the generator's first step from 11: (11 · 1103515245 + 12345) mod 2³¹
    expect(xs[0]).toBe(((11 * 1103515245 + 12345) % 2147483648) / 2147483648);
  });

  it('makes a workload a permutation of the ranks, the same for the same seed and another for another', () => {
    const p = zipfWorkload(64, 1);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(zipfWorkload(64, 1)).toEqual(p);
    expect(zipfWorkload(64, 2)).not.toEqual(p);
  });

  it('gives the expert of rank j total / (j + 1), within the wander', () => {
    const perm = zipfWorkload(16, 3);
    const still = zipfLevels(perm, 1000, 0, lcgUniform(1));
    perm.forEach((rank, e) => expect(still[e]).toBe(Math.round(1000 / (rank + 1))));
    const u = lcgUniform(5);
    for (let k = 0; k < 50; k++) {
      const lv = zipfLevels(perm, 100_000, 0.1, u);
      perm.forEach((rank, e) => {
        const level = 100_000 / (rank + 1);
        expect(lv[e]).toBeGreaterThanOrEqual(Math.floor(0.9 * level));
        expect(lv[e]).toBeLessThanOrEqual(Math.ceil(1.1 * level));
      });
    }
  });

  it('draws each layer of a window anew', () => {
    const w = zipfWindow(zipfWorkload(32, 1), 3, 320_000, 0.05, lcgUniform(7));
    expect(w).toHaveLength(3);
    expect(Array.from(w[0])).not.toEqual(Array.from(w[1]));
  });
});
