import { describe, expect, it } from 'vitest';
import { describeOutcome, layerMeans, OutcomeInterval, outcomeWindow, rolloutOutcome } from './rollout-outcome';

const ep = (episode: number, startedAtMs: number, imbalance: number[], layerVersions: number[]) => ({ episode, startedAtMs, imbalance, layerVersions });
const interval = (n: number, startedAtMs: number, endedAtMs: number, episodes: OutcomeInterval['episodes']): OutcomeInterval => ({ interval: n, startedAtMs, endedAtMs, episodes });

describe('outcomeWindow', () => {
  const i0 = interval(0, 0, 100, [ep(0, 0, [1.5, 1.4], [1, 1])]);
  const i1 = interval(1, 100, 200, [ep(1, 100, [1.5, 1.4], [1, 1])]);
  // during the rollout (150–250): mixed
  const i2 = interval(2, 200, 300, [ep(2, 200, [1.3, 1.4], [2, 0])]);
  // after it finished at 250, but the heat source still on the old version for layer 1
  const i3 = interval(3, 300, 400, [ep(3, 300, [1.1, 1.4], [2, 1])]);
  const i4 = interval(4, 400, 500, [ep(4, 400, [1.1, 1.2], [2, 2])]);
  const rollout = { startedAtMs: 150, finishedAtMs: 250, versionsAfter: [2, 2], nextStartedAtMs: null };

  it('compares the last interval ended before the start with the first wholly after, on the versions left', () => {
    const w = outcomeWindow([i4, i3, i2, i1, i0], rollout);
    expect(w.kind).toBe('ready');
    if (w.kind !== 'ready') return;
    expect([w.before.interval, w.after.interval]).toEqual([0, 4]);
  });

  it('waits while no interval after is sealed', () => {
    expect(outcomeWindow([i0, i1, i2, i3], rollout)).toMatchObject({ kind: 'wait' });
  });

  it('gives up without heat before, or when the next rollout started first', () => {
    expect(outcomeWindow([i3, i4], rollout)).toMatchObject({ kind: 'unmeasurable', why: expect.stringMatching(/before the rollout started/) });
    // no interval at all yet (the collector may be behind): wait
    expect(outcomeWindow([], rollout)).toMatchObject({ kind: 'wait' });
    expect(outcomeWindow([i0, i1, i2, i3, i4], { ...rollout, nextStartedAtMs: 350 })).toMatchObject({ kind: 'unmeasurable', why: expect.stringMatching(/next rollout/) });
    // the next rollout started, but nothing sealed after it yet: the interval after may still be late
    expect(outcomeWindow([i0, i1, i2], { ...rollout, nextStartedAtMs: 350 })).toMatchObject({ kind: 'wait' });
  });
});

describe('rolloutOutcome', () => {
  const before = interval(7, 0, 100, [ep(0, 0, [1.6, 1.2], [1, 1]), ep(1, 50, [1.4, 1.2], [1, 1])]);
  const after = interval(9, 200, 300, [ep(4, 200, [1.2, 1.2], [2, 2]), ep(5, 250, [1.0, 1.2], [2, 2])]);

  it('per layer and overall, measured and projected, and the share of the excess removed', () => {
    const o = rolloutOutcome(2, before, after, [0], {
      runId: 'r1',
      interval: 7,
      layers: [
        { layer: 0, current: 1.5, candidate: 1.15, chosen: true },
        { layer: 1, current: 1.2, candidate: 1.2, chosen: false },
      ],
    });
    expect(o.layers).toEqual([
      { layer: 0, before: 1.5, after: 1.1, gain: expect.closeTo(0.4, 9), projectedBefore: 1.5, projectedAfter: 1.15, changed: true },
      { layer: 1, before: 1.2, after: 1.2, gain: 0, projectedBefore: 1.2, projectedAfter: 1.2, changed: false },
    ]);
    expect(o.before).toMatchObject({ interval: 7, episodes: 2, imbalance: expect.closeTo(1.35, 9) });
    expect(o.after).toMatchObject({ interval: 9, episodes: 2, imbalance: expect.closeTo(1.15, 9) });
    expect(o.gain).toBeCloseTo(0.2, 9);
    expect(o.excessRemoved).toBeCloseTo(0.2 / 0.35, 9);
    expect(o.projected).toEqual({ runId: 'r1', interval: 7, before: expect.closeTo(1.35, 9), after: expect.closeTo(1.175, 9), gain: expect.closeTo(0.175, 9) });
    expect(describeOutcome(o)).toBe('imbalance 1.350 → 1.150 (−0.200, 57% of the excess; projected 1.350 → 1.175)');
  });

  it('without a run behind the version, and when it got worse', () => {
    const o = rolloutOutcome(2, after, before, [0, 1], null);
    expect(o.projected).toBeNull();
    expect(o.layers.every((l) => l.projectedBefore === null && l.changed)).toBe(true);
    expect(o.gain).toBeCloseTo(-0.2, 9);
    expect(describeOutcome(o)).toBe('imbalance 1.150 → 1.350 (+0.200, -133% of the excess)');
  });

  it('a layer with no measurement counts as balanced; a perfectly balanced start has no excess', () => {
    expect(layerMeans(interval(0, 0, 1, [ep(0, 0, [1.2], [1])]), 2)).toEqual([1.2, 1]);
    const flat = interval(0, 0, 1, [ep(0, 0, [1, 1], [1, 1])]);
    expect(rolloutOutcome(2, flat, flat, [], null).excessRemoved).toBeNull();
  });
});
