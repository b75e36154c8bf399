import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DeploymentRollouts, FollowedRollouts } from '@eplb/persistence';
import { LOGGER } from '@eplb/platform';
import { RolloutLock } from '../rollout-lock';
import { RolloutInstance } from '../rollout-instance';
import { DeploymentDriver } from './deployment-driver';
import { RolloutDrivers } from './rollout-drivers';
import { RolloutRunner } from './rollout-runner';

/**
 * Finds the work: requests and operator controls arrive as events the API appended to
 * `rollouts:<deployment>`, read here on every poll. For each deployment with work this instance
 * takes the deployment's lock (or leaves it to the instance that holds it), hands it to the
 * runner, and lets the lock go once nothing is left to drive.
 */
@Injectable()
export class RolloutRequestsPoller {
  private polling: Promise<void> | null = null;
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
    this.polling ??= this.pollOnce()
      .then(() => {
        this.polled = true;
      })
      .catch((e: Error) => this.logger.error({ err: e.message }, 'rollout poll failed'))
      .finally(() => {
        this.polling = null;
      });
    return this.polling;
  }

  /** Waits for the poll under way, if any (shutdown). */
  async drain(): Promise<void> {
    await this.polling?.catch(() => undefined);
  }

  private async pollOnce(): Promise<void> {
    const views = await this.rollouts.refresh();
    for (const [dep, followed] of views) {
      if (this.drivers.closed) return;
      let v = followed;
      let d = this.drivers.get(dep);
      if (!hasWork(v) && !d) continue;
      if (!d) {
        if (!(await this.lock.acquire(dep))) continue;
        // The view was read before the lock was ours: the previous holder may have finished the
        // work since and let the lock go. Only the log read under the lock says what is left.
        v = await this.rollouts.reload(dep);
        if (!hasWork(v)) {
          await this.lock.release(dep);
          continue;
        }
        d = new DeploymentDriver(dep);
        this.drivers.add(d);
        this.logger.info({ deployment: dep, instance: this.instance.id }, 'rollout lock taken');
      }
      const driver = d;
      try {
        await driver.serial(() => this.runner.drive(driver, v));
      } catch (e) {
        // one deployment's trouble (an unreadable log, a failed write) must not stop the others
        this.logger.error({ deployment: dep, err: (e as Error).message }, 'driving the deployment failed');
        continue;
      }
      if (!driver.state && !hasWork(v) && this.drivers.remove(driver)) {
        driver.stopped = true;
        await this.lock.release(dep);
      }
    }
  }
}

/** A deployment has work while a rollout is active or requests wait. */
function hasWork(v: DeploymentRollouts): boolean {
  return v.active() !== null || v.pending().length > 0;
}
