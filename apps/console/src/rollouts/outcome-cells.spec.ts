import { describe, expect, it } from 'vitest';
import type { RolloutOutcomeResponse } from '@eplb/contracts';
import { outcomeCells } from './outcome-cells';

const measured = (onSameHeat?: { previousMap: number; newMap: number } | null): RolloutOutcomeResponse => ({
  measured: {
    before: { interval: 3, startedAt: '', endedAt: '', episodes: 4, imbalance: 1.06 },
    after: { interval: 6, startedAt: '', endedAt: '', episodes: 4, imbalance: 1.16 },
    gain: -0.1,
    excessRemoved: -1.65,
    layers: [],
    projected: null,
    ...(onSameHeat === undefined ? {} : { onSameHeat: onSameHeat && { episodes: 4, ...onSameHeat, gain: onSameHeat.previousMap - onSameHeat.newMap } }),
  },
  why: null,
  recordedAt: '2026-12-08T01:00:00.000Z',
});

describe('a rollout outcome in the rollouts table', () => {
  it('shows before → after and, beside it, the heat after under the previous map → this one', () => {
    expect(outcomeCells(measured({ previousMap: 1.18, newMap: 1.16 }))).toEqual({ measured: '1.060 → 1.160', sameHeat: '1.180 → 1.160' });
  });

  it('has a dash where an outcome recorded before the same-heat figure, or without logical heat, has none', () => {
    expect(outcomeCells(measured()).sameHeat).toBe('—');
    expect(outcomeCells(measured(null)).sameHeat).toBe('—');
  });

  it('says why an outcome was not measurable, and nothing before one is recorded', () => {
    expect(outcomeCells({ measured: null, why: 'the next rollout started first', recordedAt: '' })).toEqual({ measured: 'n/a (the next rollout started first)', sameHeat: '—' });
    expect(outcomeCells(null)).toEqual({ measured: '—', sameHeat: '—' });
  });
});
