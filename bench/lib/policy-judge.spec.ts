import { describe, expect, it } from 'vitest';
import { getPolicy } from '@eplb/domain';
import { excessOver, inServiceFuture, judgePolicy, meetsKind, meetsMoved, meetsStationary, transferShare } from './policy-judge';

describe('the policy benches\' judge', () => {
  it('reads excess and transfer share against the yardstick, NaN where the yardstick leaves nothing', () => {
    expect(excessOver(1.1, 1.05)).toBeCloseTo(2, 12);
    expect(excessOver(1.02, 1)).toBeNaN();
    expect(transferShare(5, 20)).toBe(0.25);
    expect(transferShare(0, 0)).toBeNaN();
  });

  it('holds stationary traffic to "no worse than the map in service next" and to 5% of the yardstick\'s transfers', () => {
    expect(meetsStationary({ fut: 1.05, transfers: 5 }, 1.05, 100)).toBe(true);
    expect(meetsStationary({ fut: 1.0501, transfers: 0 }, 1.05, 100)).toBe(false);
    expect(meetsStationary({ fut: 1.04, transfers: 6 }, 1.05, 100)).toBe(false);
  });

  it('holds moved traffic to its excess target and, where bounded, to a third of the yardstick\'s transfers', () => {
    const y = { fut: 1.2, transfers: 90 };
    expect(meetsMoved({ fut: 1.3, transfers: 30 }, y, 1)).toBe(false);
    expect(meetsMoved({ fut: 1.3, transfers: 30 }, y, 2)).toBe(true);
    expect(meetsMoved({ fut: 1.3, transfers: 31 }, y, 2)).toBe(false);
    expect(meetsMoved({ fut: 1.3, transfers: 90 }, y, 2, false)).toBe(true);
    expect(meetsMoved({ fut: 1.1, transfers: 0 }, y, 0.4)).toBe(false);
  });

  it('holds each kind of held-back cut to its own target: same as stationary, the others by their excess targets', () => {
    const y = { fut: 1.2, transfers: 90 };
    const d = { fut: 1.1, transfers: 30 }; // half the yardstick's excess, a third of its transfers
    expect(meetsKind('same', d, y, 1.1)).toBe(false); // 30 transfers > 5% of 90
    expect(meetsKind('same', { fut: 1.1, transfers: 4 }, y, 1.1)).toBe(true);
    expect(meetsKind('shift', d, y, 1.5)).toBe(true);
    expect(meetsKind('spikes', d, y, 1.5)).toBe(true);
    expect(meetsKind('drift', d, y, 1.5)).toBe(true);
    expect(meetsKind('alternating', d, y, 1.5)).toBe(false); // 50% > 40%
    expect(meetsKind('drift', { fut: 1.1, transfers: 31 }, y, 1.5)).toBe(false);
  });

  it('judges a map on the next window and counts its transfers and moved layers against the map in service', () => {
    // 2 layers × 4 experts on 2 ranks × 3 slots; the map in service holds expert 0 on rank 0 alone,
    // and layer 1's heat is nearly all expert 0's
    const shape = { numLayers: 2, numExperts: 4, numRanks: 2, slotsPerRank: 3, numNodes: 1 };
    const current = [[0, 1, 2, 3, 1, 2], [0, 1, 2, 3, 1, 2]];
    const heat = [[Float64Array.of(10, 10, 10, 10), Float64Array.of(100, 1, 1, 1)]];
    const input = { shape, heat, current };
    const g = judgePolicy('greedy', input, heat);
    const plan = getPolicy('greedy')(input).physicalToLogical;
    expect(g.fut).toBeLessThan(inServiceFuture(input, heat));
    expect(g.transfers).toBeGreaterThan(0);
    expect(g.layersMoved).toBeGreaterThanOrEqual(1);
    expect(g.layersMoved).toBeLessThanOrEqual(2);
    // the same plan, once it is the map in service, moves nothing
    const again = judgePolicy('greedy', { shape, heat, current: plan }, heat);
    expect(again.transfers).toBe(0);
    expect(again.layersMoved).toBe(0);
    expect(again.fut).toBeCloseTo(g.fut, 12);
    // no map in service: nothing to count transfers against
    expect(judgePolicy('greedy', { shape, heat }, heat).transfers).toBe(0);
  });
});
