import { describe, expect, it } from 'vitest';
import { hottestCell } from './hottest-cell';

describe('hottestCell', () => {
  it('names the largest count', () => {
    expect(hottestCell([[1, 2, 3], [4, 9, 5]])).toEqual({ layer: 1, expert: 1, count: 9 });
  });

  it('breaks a tie as the API ranks its top-k: lowest layer, then lowest expert', () => {
    expect(hottestCell([[1, 7, 7], [7, 0, 0]])).toEqual({ layer: 0, expert: 1, count: 7 });
  });

  it('is null when nothing was counted', () => {
    expect(hottestCell([])).toBeNull();
    expect(hottestCell([[0, 0], [0, 0]])).toBeNull();
  });
});
