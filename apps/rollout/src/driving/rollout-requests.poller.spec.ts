import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentRollouts, FollowedRollouts } from '@eplb/persistence';
import { RolloutLock } from '../rollout-lock';
import { RolloutInstance } from '../rollout-instance';
import { RolloutDrivers } from './rollout-drivers';
import { RolloutRequestsPoller } from './rollout-requests.poller';
import { RolloutRunner } from './rollout-runner';

const DEP = 'dep-a';

/** The deployment's view folded from `types` (in order), one rollout `r1`. */
function viewOf(...types: string[]): DeploymentRollouts {
  const v = new DeploymentRollouts(DEP);
  types.forEach((type, i) =>
    v.apply({
      id: String(i + 1),
      stream: deploymentRolloutsStream(DEP),
      type,
      payload: type === ROLLOUT_EVENTS.finished ? { rolloutId: 'r1', status: 'SUCCEEDED' } : { rolloutId: 'r1', mapVersion: 2, fromVersion: 1, toVersion: 2 },
      actor: 'test',
      reason: 'test',
      correlationId: 'r1',
    }),
  );
  return v;
}

/** A poller whose poll reads `followed` and whose read under the lock finds `underLock`. */
function pollerOver(followed: DeploymentRollouts, underLock: DeploymentRollouts) {
  const rollouts = { refresh: vi.fn(async () => new Map([[DEP, followed]])), reload: vi.fn(async () => underLock) };
  const drivers = new RolloutDrivers();
  const runner = { drive: vi.fn(async () => undefined) };
  const lock = { acquire: vi.fn(async () => true), release: vi.fn(async () => undefined), generation: () => 7 };
  const logger = { info: vi.fn(), error: vi.fn() };
  const poller = new RolloutRequestsPoller(
    rollouts as unknown as FollowedRollouts,
    drivers,
    runner as unknown as RolloutRunner,
    lock as unknown as RolloutLock,
    { id: 'instance-b' } as unknown as RolloutInstance,
    logger as unknown as Logger,
  );
  return { poller, rollouts, drivers, runner, lock };
}

describe('RolloutRequestsPoller', () => {
  it('lets a lock go at once when the log read under it shows the work finished by the previous holder', async () => {
    // read before the lock: r1 requested; by the time the lock was free, its holder had finished r1
    const { poller, runner, lock, drivers } = pollerOver(viewOf(ROLLOUT_EVENTS.requested), viewOf(ROLLOUT_EVENTS.requested, ROLLOUT_EVENTS.started, ROLLOUT_EVENTS.finished));
    await poller.poll();
    expect(lock.acquire).toHaveBeenCalledWith(DEP);
    expect(runner.drive).not.toHaveBeenCalled();
    expect(lock.release).toHaveBeenCalledWith(DEP);
    expect(drivers.has(DEP)).toBe(false);
  });

  it('drives a deployment with the view read under its lock when work is left', async () => {
    const underLock = viewOf(ROLLOUT_EVENTS.requested, ROLLOUT_EVENTS.started);
    const { poller, runner, lock, drivers } = pollerOver(viewOf(ROLLOUT_EVENTS.requested), underLock);
    await poller.poll();
    expect(runner.drive).toHaveBeenCalledTimes(1);
    expect(runner.drive.mock.calls[0]).toContain(underLock);
    expect(lock.release).not.toHaveBeenCalled();
    expect(drivers.has(DEP)).toBe(true);
  });
});
