import { describe, expect, it } from 'vitest';
import type { AgentGateway } from './agents/agent-gateway';
import type { RolloutRequestsPoller } from './driving/rollout-requests.poller';
import type { RolloutLockRenewal } from './rollout-lock-renewal';
import { RolloutReadinessCheck } from './rollout-readiness.check';

const check = (s: { listening: boolean; joined: boolean; renewing: boolean; caughtUp: boolean }) =>
  new RolloutReadinessCheck(
    { isListening: s.listening, ready: s.joined } as AgentGateway,
    { running: s.renewing } as RolloutLockRenewal,
    { caughtUp: s.caughtUp } as RolloutRequestsPoller,
  ).check();

describe('RolloutReadinessCheck', () => {
  it('ready once the control channel listens, the ack consumer joined, the lock loop runs and the streams were read', async () => {
    await expect(check({ listening: true, joined: true, renewing: true, caughtUp: true })).resolves.toBeUndefined();
  });

  it('not ready names everything still missing', async () => {
    await expect(check({ listening: false, joined: false, renewing: true, caughtUp: false })).rejects.toThrow(
      'the control channel is not listening; the ack consumer has not joined its group; the rollouts streams are not read yet',
    );
    await expect(check({ listening: true, joined: true, renewing: false, caughtUp: true })).rejects.toThrow('the lock renewal is not running');
  });
});
