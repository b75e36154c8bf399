import { describe, expect, it } from 'vitest';
import { FINISHED_ROLLOUT_STATUSES, isFinishedRolloutStatus, ROLLOUT_STATUS, rolloutLifecycleStatus, TERMINAL_ROLLOUT_STATUSES } from './status';

describe('rollout status vocabulary', () => {
  it('a request is REQUESTED until it starts, RUNNING until it finishes, then what the service recorded', () => {
    expect(rolloutLifecycleStatus({ rejected: false, started: false, finished: null })).toBe('REQUESTED');
    expect(rolloutLifecycleStatus({ rejected: false, started: true, finished: null })).toBe('RUNNING');
    expect(rolloutLifecycleStatus({ rejected: false, started: true, finished: 'ROLLED_BACK' })).toBe('ROLLED_BACK');
  });

  it('a rejection wins over anything else recorded for the request', () => {
    expect(rolloutLifecycleStatus({ rejected: true, started: false, finished: null })).toBe('REJECTED');
    expect(rolloutLifecycleStatus({ rejected: true, started: true, finished: 'SUCCEEDED' })).toBe('REJECTED');
  });

  it('finished means terminal or rejected; running, paused and requested are not', () => {
    expect([...TERMINAL_ROLLOUT_STATUSES].sort()).toEqual(['ABORTED', 'ROLLED_BACK', 'SUCCEEDED']);
    expect([...FINISHED_ROLLOUT_STATUSES].sort()).toEqual(['ABORTED', 'REJECTED', 'ROLLED_BACK', 'SUCCEEDED']);
    for (const s of Object.values(ROLLOUT_STATUS)) expect(isFinishedRolloutStatus(s)).toBe(FINISHED_ROLLOUT_STATUSES.includes(s));
    expect(isFinishedRolloutStatus('PAUSED')).toBe(false);
  });
});
