import { describe, expect, it } from 'vitest';
import { bySizeDescending, replicateMinMax } from './greedy';

/** The allotment as a scan of every expert per extra replica (first of the largest wins). */
function replicateByScan(h: ArrayLike<number>, slots: number, cap = Infinity): number[] {
  const reps = new Array<number>(h.length).fill(1);
  for (let extra = slots - h.length; extra > 0; extra--) {
    let best = -1, bestV = -1;
    for (let e = 0; e < h.length; e++) {
      if (reps[e] >= cap) continue;
      if (h[e] / reps[e] > bestV) {
        bestV = h[e] / reps[e];
        best = e;
      }
    }
    if (best < 0) for (let e = 0; e < h.length; e++) if (best < 0 || h[e] / reps[e] > h[best] / reps[best]) best = e;
    reps[best]++;
  }
  return reps;
}

describe('replicateMinMax', () => {
  it('gives the same counts as a scan of every expert, ties and caps included', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 300; trial++) {
      const E = 1 + Math.floor(rand() * 40);
      // few distinct values: many ties between experts and between h/replicas ratios
      const h = Array.from({ length: E }, () => Math.floor(rand() * 6) * (trial % 3 === 0 ? 1 : 12));
      const slots = E + Math.floor(rand() * 3 * E);
      const cap = trial % 4 === 0 ? Infinity : 1 + Math.floor(rand() * 4);
      expect(Array.from(replicateMinMax(h, slots, cap))).toEqual(replicateByScan(h, slots, cap));
    }
  });
});

describe('bySizeDescending', () => {
  it('orders as a sort by size descending, ties to the larger id, zeros of either sign alike', () => {
    let seed = 11;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(rand() * 70);
      // few distinct values: many ties; -0 beside 0
      const size = Float64Array.from({ length: n }, () => (rand() < 0.1 ? -0 : Math.floor(rand() * 5) / 3));
      const bySort = Array.from({ length: n }, (_, i) => i).sort((x, y) => size[y] - size[x] || y - x);
      expect(Array.from(bySizeDescending(size))).toEqual(bySort);
    }
  });
});
