import { describe, expect, it } from 'vitest';
import { auditChanges } from './live-changes';

describe('auditChanges', () => {
  it('names each kind once with its newest event and the types seen; every event is an audit change', () => {
    const changes = auditChanges([
      { id: '7', stream: 'rollouts:d', type: 'rollout.requested' },
      { id: '8', stream: 'rollout:r1', type: 'rollout.decided' },
      { id: '9', stream: 'heat:d', type: 'interval.sealed' },
      { id: '10', stream: 'rollout:r1', type: 'rollout.decided' },
      { id: '11', stream: 'deployment:d', type: 'settings.updated' },
    ]);
    expect(changes).toEqual([
      { kind: 'rollout', cursor: '10', types: ['rollout.requested', 'rollout.decided'] },
      { kind: 'heat', cursor: '9', types: ['interval.sealed'] },
      { kind: 'audit', cursor: '11', types: ['rollout.requested', 'rollout.decided', 'interval.sealed', 'settings.updated'] },
    ]);
  });

  it('is nothing when nothing happened', () => {
    expect(auditChanges([])).toEqual([]);
  });
});
