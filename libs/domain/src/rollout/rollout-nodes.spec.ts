import { describe, expect, it } from 'vitest';
import { rolloutNodes } from './rollout-nodes';

const shape = { numLayers: 2, numExperts: 4, numRanks: 4, slotsPerRank: 1, numNodes: 2 };

describe('rolloutNodes', () => {
  it('needs every node once a layer changes, none when nothing does', () => {
    const a = [[0, 1, 2, 3], [0, 1, 2, 3]];
    expect(rolloutNodes(shape, a, a)).toEqual([]);
    expect(rolloutNodes(shape, a, [[0, 1, 2, 3], [0, 1, 3, 2]])).toEqual([0, 1]);
  });
});
