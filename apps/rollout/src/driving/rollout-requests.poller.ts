import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DeploymentRollouts, FollowedRollouts } from '@eplb/persistence';
import { counter, LOGGER } from '@eplb/platform';
import { OnePassAtATime } from '../one-pass-at-a-time';
import { RolloutLock } from '../rollout-lock';
import { RolloutInstance } from '../rollout-instance';
import { DeploymentDriver } from './deployment-driver';
import { RolloutDrivers } from './rollout-drivers';
import { RolloutRunner } from './rollout-runner';

const driveFailures = counter('eplb_rollout_drive_failures_total', 'Polls on which driving a deployment failed (its lock was let go and the next poll retries)', ['deployment'] as const);

/**
 * Finds the work: requests and operator controls arrive as events the API appended to
 * `rollouts:<deployment>`, read here on every poll. For each deployment with work this instance
 * takes the deployment's lock (or leaves it to the instance that holds it), hands it to the
 * runner, and lets the lock go once nothing is left to drive.
 */
@Injectable()
export class RolloutRequestsPoller {
  private readonly polls = new OnePassAtATime(
    async () => {
      await this.pollOnce();
      this.polled = true;
    },
    (e) => this.logger.error({ err: e.message }, 'rollout poll failed'),
  );
  private polled = false;

  constructor(
    private readonly rollouts: FollowedRollouts,
    private readonly drivers: RolloutDrivers,
    private readonly runner: RolloutRunner,
    private readonly lock: RolloutLock,
    private readonly instance: RolloutInstance,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * True once a poll went through: the rollouts streams were read and every unfinished rollout
   * this instance could lock was resumed from its log (or is left to the holder of its lock).
   */
  get caughtUp(): boolean {
    return this.polled;
  }

  /** One poll at a time: a call while one runs gets that one. */
  poll(): Promise<void> {
    if (this.drivers.closed) return Promise.resolve();
    return this.polls.run();
  }

  /** Waits for the poll under way, if any (shutdown). */
  drain(): Promise<void> {
    return this.polls.drain();
  }

  private async pollOnce(): Promise<void> {
    const views = await this.rollouts.refresh();
    for (const [dep, followed] of views) {
      if (this.drivers.closed) return;
      try {
        await this.pollDeployment(dep, followed);
      } catch (e) {
        // One deployment's trouble (its lock, an unreadable log, a fenced-out or failed write)
        // must not stop the others; nor may it keep the lock it failed under: the driver goes,
        // the lock is let go, and the next poll starts over (a new generation, the log re-read).
        driveFailures.inc({ deployment: dep });
        this.logger.error({ deployment: dep, err: (e as Error).message }, 'driving the deployment failed: lock released, retried on the next poll');
        await this.letGo(dep);
      }
    }
  }

  private async pollDeployment(dep: string, followed: DeploymentRollouts): Promise<void> {
    let v = followed;
    let d = this.drivers.get(dep);
    if (!hasWork(v) && !d) return;
    if (!d) {
      if (!(await this.lock.acquire(dep))) return;
      // The view was read before the lock was ours: the previous holder may have finished the
      // work since and let the lock go. Only the log read under the lock says what is left.
      // (A failure from here on lets the lock go: pollOnce.)
      v = await this.rollouts.reload(dep);
      if (!hasWork(v)) {
        await this.lock.release(dep);
        return;
      }
      d = new DeploymentDriver(dep);
      this.drivers.add(d);
      this.logger.info({ deployment: dep, instance: this.instance.id, generation: this.lock.generation(dep) }, 'rollout lock taken');
    }
    const driver = d;
    await driver.serial(() => this.runner.drive(driver, v));
    if (!driver.state && !hasWork(v) && this.drivers.remove(driver)) {
      driver.stopped = true;
      await this.lock.release(dep);
    }
  }

  /** Stops driving `dep` (if this instance still does) and lets its lock go. */
  private async letGo(dep: string): Promise<void> {
    const d = this.drivers.get(dep);
    if (d && this.drivers.remove(d)) d.stopped = true;
    await this.lock.release(dep).catch((e: Error) => this.logger.warn({ deployment: dep, err: e.message }, 'rollout lock not released: it expires after its TTL'));
  }
}

/** A deployment has work while a rollout is active or requests wait. */
function hasWork(v: DeploymentRollouts): boolean {
  return v.active() !== null || v.pending().length > 0;
}
