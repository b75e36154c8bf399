import { describe, expect, it } from 'vitest';
import { rankLoads } from './rank-load';

describe('rankLoads', () => {
  // 2 ranks × 3 slots, 4 experts: expert 0 has a replica on each rank
  const map = [
    [0, 1, 2, 0, 3, 3],
    [0, 1, 2, 3, 0, 1],
  ];
  const counts = [
    [60, 30, 10, 20],
    [10, 10, 10, 10],
  ];

  it('splits an expert over its replicas and sums its slots per rank', () => {
    const { ranks, imbalance } = rankLoads(counts, map, 3, [0]);
    // rank 0: 30 (half of expert 0) + 30 + 10 = 70; rank 1: 30 + 20 (expert 3 on two slots of the same rank, 10 each) = 50
    expect(ranks.map((r) => r.load)).toEqual([70, 50]);
    expect(imbalance).toBeCloseTo(70 / 60);
    expect(ranks[0].ratio).toBeCloseTo(70 / 60);
    expect(ranks[0].top).toEqual([
      { layer: 0, expert: 0, load: 30, replicas: 2 },
      { layer: 0, expert: 1, load: 30, replicas: 1 },
      { layer: 0, expert: 2, load: 10, replicas: 1 },
    ]);
  });

  it('sums the layers asked for', () => {
    const { ranks } = rankLoads(counts, map, 3, [0, 1]);
    // layer 1: rank 0 holds 0 (replica of 2), 1 (replica of 2), 2 → 5 + 5 + 10; rank 1 holds 3, 0, 1 → 10 + 5 + 5
    expect(ranks.map((r) => r.load)).toEqual([90, 70]);
  });

  it('is flat with no tokens', () => {
    expect(rankLoads([[0, 0, 0, 0]], [map[0]], 3, [0])).toMatchObject({ imbalance: 0, ranks: [{ load: 0, ratio: 0, top: [] }, { load: 0 }] });
  });
});
