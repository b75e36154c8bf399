import { describe, expect, it } from 'vitest';
import { describeOutcome, OutcomeInterval, rolloutOutcome } from './rollout-outcome';
import { sameHeatOutcome } from './same-heat';

// 2 ranks × 2 slots, 4 logical experts; the previous map puts the two hot experts on rank 0
const previousRows = [[0, 1, 2, 3]];
const newRows = [[0, 2, 1, 3]];
const hot = (a: number, b: number) => ({ logicalLoad: [Float64Array.from([a, b, 10, 10])] });

describe('a rollout on the same heat', () => {
  it('models the interval after under both maps: the gain does not move with the traffic', () => {
    // the traffic after is hotter than before (the measured figure rises); the new map still halves the peak
    const o = sameHeatOutcome({ episodes: [hot(30, 30), hot(50, 50)], previousRows, newRows, numRanks: 2, slotsPerRank: 2 });
    // episode 1: ranks 60/20 vs 40/40 → 1.5 and 1.0; episode 2: 100/20 vs 60/60 → 1.667 and 1.0
    expect(o).toEqual({ episodes: 2, previousMap: expect.closeTo((1.5 + 100 / 60) / 2, 9), newMap: expect.closeTo(1, 9), gain: expect.closeTo((1.5 + 100 / 60) / 2 - 1, 9) });
  });

  it('a layer the rollout left alone gains nothing; layers are averaged as the measured figures are', () => {
    const o = sameHeatOutcome({
      episodes: [{ logicalLoad: [Float64Array.from([30, 30, 10, 10]), Float64Array.from([30, 30, 10, 10])] }],
      previousRows: [previousRows[0], previousRows[0]],
      newRows: [newRows[0], previousRows[0]],
      numRanks: 2,
      slotsPerRank: 2,
    });
    expect(o?.previousMap).toBeCloseTo(1.5, 9);
    expect(o?.newMap).toBeCloseTo(1.25, 9);
  });

  it('without episodes there is nothing to model; rows of different layer counts are refused', () => {
    expect(sameHeatOutcome({ episodes: [], previousRows, newRows, numRanks: 2, slotsPerRank: 2 })).toBeNull();
    expect(() => sameHeatOutcome({ episodes: [hot(1, 1)], previousRows, newRows: [], numRanks: 2, slotsPerRank: 2 })).toThrow(/1 previous rows against 0/);
    expect(() => sameHeatOutcome({ episodes: [{ logicalLoad: [] }], previousRows, newRows, numRanks: 2, slotsPerRank: 2 })).toThrow(/no logical heat for layer 0/);
  });

  it('is said beside the measured before → after', () => {
    const interval = (n: number, imbalance: number): OutcomeInterval => ({ interval: n, startedAtMs: 0, endedAtMs: 1, episodes: [{ episode: n, startedAtMs: 0, storedAtMs: 0, imbalance: [imbalance], layerVersions: [1] }] });
    // measured worse after (the traffic moved), better on the same heat
    const same = sameHeatOutcome({ episodes: [hot(30, 30)], previousRows, newRows, numRanks: 2, slotsPerRank: 2 });
    const o = rolloutOutcome(1, interval(1, 1.06), interval(2, 1.116), [0], null, same);
    expect(o.onSameHeat).toBe(same);
    expect(describeOutcome(o)).toBe('imbalance 1.060 → 1.116 (+0.056, -93% of the excess; on the heat after: 1.500 under the previous map, 1.000 under this one, −0.500)');
  });
});
