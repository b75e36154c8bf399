import { describe, expect, it } from 'vitest';
import { runFigures } from './run-figures';

describe('runFigures', () => {
  it('reads a proposal: per layer now and projected, transfers and bytes', () => {
    const f = runFigures({
      layers: [
        { layer: 0, current: 1.5, candidate: 1.1, transfers: 3, chosen: true },
        { layer: 1, current: 1.05, candidate: 1.05, transfers: 0, chosen: false },
      ],
      transfers: 3,
      bytes: 3072,
      currentMean: 1.275,
      candidateMean: 1.075,
      episodes: 8,
    });
    expect(f.layers.map((l) => [l.layer, l.current, l.candidate, l.chosen])).toEqual([
      [0, 1.5, 1.1, true],
      [1, 1.05, 1.05, false],
    ]);
    expect([f.transfers, f.bytes, f.currentMean, f.candidateMean]).toEqual([3, 3072, 1.275, 1.075]);
  });

  it('is empty for a failed run, which records its attempts only', () => {
    expect(runFigures({ attempts: 3 })).toEqual({ layers: [], transfers: 0, bytes: 0, currentMean: null, candidateMean: null });
  });
});
