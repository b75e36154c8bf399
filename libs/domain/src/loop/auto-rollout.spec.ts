import { describe, expect, it } from 'vitest';
import { decideAutoRollout, FinishedRollout, HOUR_MS, LoopSnapshot } from './auto-rollout';

const NOW = 10 * HOUR_MS;
const base: LoopSnapshot = {
  now: NOW,
  mode: 'auto',
  modeSince: 0,
  inService: 4,
  rolloutInFlight: false,
  approved: { version: 5, parentVersion: 4, runId: 'r5' },
  lastFinished: null,
  automaticStarts: [],
  maxAutomaticPerHour: 4,
};
const finished = (over: Partial<FinishedRollout> = {}): FinishedRollout => ({
  rolloutId: 'ro-4',
  automatic: true,
  outcome: 'succeeded',
  finishedAt: NOW - 60_000,
  judged: true,
  intervalsMeasuredAfter: 1,
  ...over,
});

describe('decideAutoRollout', () => {
  it('deploys an approved version planned against the map in service', () => {
    expect(decideAutoRollout(base)).toMatchObject({ kind: 'deploy', version: 5 });
    expect(decideAutoRollout({ ...base, lastFinished: finished() })).toMatchObject({ kind: 'deploy', version: 5 });
  });

  it('waits for nodes without a live agent, naming them', () => {
    const d = decideAutoRollout({ ...base, approved: { ...base.approved!, unreachableNodes: [1, 3] } });
    expect(d).toMatchObject({ kind: 'wait' });
    expect(d.reason).toContain('nodes 1, 3');
    expect(decideAutoRollout({ ...base, approved: { ...base.approved!, unreachableNodes: [] } }).kind).toBe('deploy');
  });

  it('a cap of 0 per hour turns automatic rollouts off (waits, with no time to wait until)', () => {
    const d = decideAutoRollout({ ...base, maxAutomaticPerHour: 0 });
    expect(d).toEqual({ kind: 'wait', reason: 'v5 waits: automatic rollouts are off (cap 0 per hour)' });
  });

  it('trips after an automatic rollout that failed holding its layers, not after one an operator aborted', () => {
    const held = decideAutoRollout({ ...base, lastFinished: finished({ outcome: 'held' }) });
    expect(held).toMatchObject({ kind: 'trip', rolloutId: 'ro-4' });
    expect(held.reason).toContain('holds its committed layers');
    expect(decideAutoRollout({ ...base, lastFinished: finished({ outcome: 'aborted' }) }).kind).toBe('deploy');
  });

  it('does nothing outside auto mode', () => {
    expect(decideAutoRollout({ ...base, mode: 'approve' }).kind).toBe('idle');
    expect(decideAutoRollout({ ...base, mode: 'observe' }).kind).toBe('idle');
  });

  it('lets a version approved during a rollout wait for it', () => {
    expect(decideAutoRollout({ ...base, rolloutInFlight: true })).toMatchObject({ kind: 'wait' });
    expect(decideAutoRollout({ ...base, rolloutInFlight: true, approved: null }).kind).toBe('idle');
  });

  it('discards a version planned against a map no longer in service, naming both', () => {
    const d = decideAutoRollout({ ...base, inService: 5, approved: { version: 6, parentVersion: 4, runId: 'r6' } });
    expect(d).toMatchObject({ kind: 'discard', version: 6 });
    expect(d.reason).toContain('v4');
    expect(d.reason).toContain('v5 is in service');
    expect(decideAutoRollout({ ...base, inService: null }).kind).toBe('discard');
  });

  it('cools down until the last rollout is judged and an interval was measured after it', () => {
    expect(decideAutoRollout({ ...base, lastFinished: finished({ judged: false }) }).kind).toBe('wait');
    expect(decideAutoRollout({ ...base, lastFinished: finished({ intervalsMeasuredAfter: 0 }) }).kind).toBe('wait');
  });

  it('caps automatic rollouts per hour and says when the next may start', () => {
    const starts = [NOW - 50 * 60_000, NOW - 40 * 60_000, NOW - 30 * 60_000, NOW - 10 * 60_000, NOW - 2 * HOUR_MS];
    const d = decideAutoRollout({ ...base, automaticStarts: starts });
    expect(d).toMatchObject({ kind: 'wait', until: NOW - 50 * 60_000 + HOUR_MS });
    expect(decideAutoRollout({ ...base, automaticStarts: starts.slice(1) }).kind).toBe('deploy');
  });

  it('trips the breaker after an automatic rollout was rolled back, once per rollback', () => {
    const rolledBack = finished({ outcome: 'rolled-back', finishedAt: NOW - 1000 });
    expect(decideAutoRollout({ ...base, lastFinished: rolledBack })).toMatchObject({ kind: 'trip', rolloutId: 'ro-4' });
    // the operator put the deployment back in auto after that rollback: it does not trip again
    expect(decideAutoRollout({ ...base, lastFinished: rolledBack, modeSince: NOW - 500 }).kind).toBe('deploy');
    // an operator's own rollout that was rolled back is the operator's business
    expect(decideAutoRollout({ ...base, lastFinished: { ...rolledBack, automatic: false } }).kind).toBe('deploy');
  });
});
