import { describe, expect, it } from 'vitest';
import { mapAroundLostRanks } from './emergency-map';

describe('mapAroundLostRanks', () => {
  it('every expert keeps a replica on a live rank, no rank holds an expert twice', () => {
    const shape = { numLayers: 2, numExperts: 6, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
    // rank 1 alone holds experts 2 and 3 in both layers
    const current = [[0, 1, 2, 3, 4, 5, 0, 1], [0, 1, 2, 3, 4, 5, 0, 1]];
    const heat = [[Float64Array.from([5, 5, 1, 1, 1, 1]), Float64Array.from([5, 5, 1, 1, 1, 1])]];
    const map = mapAroundLostRanks(shape, current, heat, [1], 'default');
    for (const row of map) {
      const live = row.filter((_, p) => Math.floor(p / 2) !== 1);
      for (let e = 0; e < 6; e++) expect(live, `expert ${e}`).toContain(e);
      for (let r = 0; r < 4; r++) expect(new Set(row.slice(2 * r, 2 * r + 2)).size).toBe(2);
    }
  });
});
