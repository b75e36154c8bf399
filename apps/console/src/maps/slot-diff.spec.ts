import { describe, expect, it } from 'vitest';
import { slotGrid } from './slot-diff';

describe('slotGrid', () => {
  it('lays the slots out by rank and marks the ones whose expert changed', () => {
    const grid = slotGrid([0, 1, 2, 3, 3, 0], [0, 1, 2, 3, 4, 5], 3);
    expect(grid.map((r) => r.map((c) => c.expert))).toEqual([
      [0, 1, 2],
      [3, 3, 0],
    ]);
    expect(grid.flat().filter((c) => c.before !== null)).toEqual([
      { slot: 4, expert: 3, before: 4 },
      { slot: 5, expert: 0, before: 5 },
    ]);
  });

  it('marks nothing for a version without a parent', () => {
    expect(slotGrid([1, 0], null, 1).flat().every((c) => c.before === null)).toBe(true);
  });
});
