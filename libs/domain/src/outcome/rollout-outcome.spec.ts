import { describe, expect, it } from 'vitest';
import { describeOutcome, episodeMeasuredUnder, intervalMeasuredUnder, layerMeans, OutcomeInterval, outcomeWindow, rolloutOutcome } from './rollout-outcome';

/** An episode stored at `storedAtMs` (the database's clock); its worker clock is far off, and must not matter. */
const ep = (episode: number, storedAtMs: number, imbalance: number[], layerVersions: number[], workerSkewMs = 600_000) => ({
  episode,
  startedAtMs: storedAtMs + workerSkewMs,
  storedAtMs,
  imbalance,
  layerVersions,
});
const interval = (n: number, startedAtMs: number, endedAtMs: number, episodes: OutcomeInterval['episodes']): OutcomeInterval => ({ interval: n, startedAtMs, endedAtMs, episodes });

describe('episodeMeasuredUnder / intervalMeasuredUnder', () => {
  const map = { versions: [2, 2], storedFromMs: 1_000 };

  it('counts an episode only on every layer version and stored from when the map could serve', () => {
    expect(episodeMeasuredUnder(ep(0, 1_000, [1.1, 1.1], [2, 2]), map)).toBe(true);
    // stored before the map could serve: heat of an earlier map whatever it reports
    expect(episodeMeasuredUnder(ep(0, 999, [1.1, 1.1], [2, 2]), map)).toBe(false);
    // one layer still on the old version, or mixed (0) during a rollout
    expect(episodeMeasuredUnder(ep(0, 2_000, [1.1, 1.1], [2, 1]), map)).toBe(false);
    expect(episodeMeasuredUnder(ep(0, 2_000, [1.1, 1.1], [0, 2]), map)).toBe(false);
    // the worker's clock ten minutes either way changes nothing
    expect(episodeMeasuredUnder(ep(0, 2_000, [1.1, 1.1], [2, 2], -600_000), map)).toBe(true);
  });

  it('counts an interval only with episodes, all of them measured under the map', () => {
    expect(intervalMeasuredUnder(interval(0, 0, 1, []), map)).toBe(false);
    expect(intervalMeasuredUnder(interval(0, 0, 1, [ep(0, 1_500, [1], [2, 2]), ep(1, 1_600, [1], [2, 2])]), map)).toBe(true);
    expect(intervalMeasuredUnder(interval(0, 0, 1, [ep(0, 1_500, [1], [1, 1]), ep(1, 1_600, [1], [2, 2])]), map)).toBe(false);
  });
});

describe('outcomeWindow', () => {
  // the rollout ran from 150 to 250 (the database's clock), v1 → v2 on both layers
  const i0 = interval(0, 0, 100, [ep(0, 50, [1.5, 1.4], [1, 1])]);
  const i1 = interval(1, 100, 200, [ep(1, 120, [1.5, 1.4], [1, 1])]);
  // the collector behind: heat of before the rollout, stored after it finished
  const i2 = interval(2, 200, 300, [ep(2, 260, [1.5, 1.4], [1, 1])]);
  // during the rollout: mixed
  const i3 = interval(3, 300, 400, [ep(3, 270, [1.3, 1.4], [2, 0])]);
  // the heat source still on the old version for layer 1
  const i4 = interval(4, 400, 500, [ep(4, 280, [1.1, 1.4], [2, 1])]);
  const i5 = interval(5, 500, 600, [ep(5, 300, [1.1, 1.2], [2, 2])]);
  const rollout = { before: { versions: [1, 1], storedFromMs: 0 }, after: { versions: [2, 2], storedFromMs: 250 }, nextStartedAtMs: null };

  it('compares the newest interval under the map before with the first wholly under the map left, whenever the collector stored them', () => {
    const w = outcomeWindow([i5, i4, i3, i2, i1, i0], rollout);
    expect(w.kind).toBe('ready');
    if (w.kind !== 'ready') return;
    // interval 2 was stored after the rollout ended, but it is heat of v1: the newest before
    expect([w.before.interval, w.after.interval]).toEqual([2, 5]);
  });

  it('does not take heat of the map left that was stored before the rollout ended', () => {
    const early = interval(5, 500, 600, [ep(5, 240, [1.1, 1.2], [2, 2]), ep(6, 300, [1.1, 1.2], [2, 2])]);
    expect(outcomeWindow([i1, i2, early], rollout)).toMatchObject({ kind: 'wait' });
  });

  it('waits while no interval under the map left is sealed (old heat stored late included)', () => {
    expect(outcomeWindow([i0, i1, i2, i3, i4], rollout)).toMatchObject({ kind: 'wait' });
    expect(outcomeWindow([], rollout)).toMatchObject({ kind: 'wait' });
  });

  it('gives up without heat under the map before', () => {
    expect(outcomeWindow([i3, i4, i5], rollout)).toMatchObject({ kind: 'unmeasurable', why: expect.stringMatching(/before the rollout/) });
  });

  it('gives up once heat of the next rollout followed this one before a whole interval was measured', () => {
    const next = { ...rollout, nextStartedAtMs: 320 };
    // some heat under v2, then (stored after the next rollout started) heat under its map
    const partly = interval(5, 500, 600, [ep(5, 300, [1.1, 1.2], [2, 2]), ep(6, 330, [1.2, 1.2], [3, 2])]);
    expect(outcomeWindow([i1, i2, i3, partly], next)).toMatchObject({ kind: 'unmeasurable', why: expect.stringMatching(/next rollout/) });
    // the next rollout started, but only old heat was stored since (the collector behind): wait
    const old = interval(5, 500, 600, [ep(5, 330, [1.5, 1.4], [1, 1])]);
    expect(outcomeWindow([i1, old], next)).toMatchObject({ kind: 'wait' });
    // an interval measured under v2 counts though the next rollout started meanwhile
    expect(outcomeWindow([i1, i2, i5], next)).toMatchObject({ kind: 'ready' });
  });

  it('a rollout that ended where it began (rolled back) is measured on the same map before and after', () => {
    const back = { before: { versions: [1, 1], storedFromMs: 0 }, after: { versions: [1, 1], storedFromMs: 250 }, nextStartedAtMs: null };
    const i6 = interval(6, 600, 700, [ep(6, 400, [1.5, 1.4], [1, 1])]);
    const w = outcomeWindow([i0, i1, i3, i6], back);
    expect(w.kind).toBe('ready');
    if (w.kind === 'ready') expect([w.before.interval, w.after.interval]).toEqual([1, 6]);
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
