import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { rolloutStream } from '@eplb/contracts';
import { compactRolloutEvent, RolloutEvent } from '@eplb/domain';
import { NewEvent, RolloutEventRepository } from '@eplb/persistence';
import { LOGGER } from '@eplb/platform';
import { RolloutLock } from '../rollout-lock';
import { ROLLOUT_SERVICE_ACTOR, RolloutInstance } from '../rollout-instance';
import { DeploymentDriver } from './deployment-driver';
import { RolloutDrivers } from './rollout-drivers';

/**
 * A machine event as the row of its rollout's stream `rollout:<id>` (replayed on takeover), under
 * the rollout's chain of custody `correlationId` (its request's). The payload keeps the event's
 * own `correlationId` (an operator event's: the control request it applied, so a replay does not
 * apply it twice).
 */
export const machineRow = (rolloutId: string, correlationId: string, e: RolloutEvent): NewEvent => ({
  stream: rolloutStream(rolloutId),
  type: `rollout.${e.type}`,
  payload: compactRolloutEvent(e) as unknown as Record<string, unknown>,
  actor: e.actor ?? ROLLOUT_SERVICE_ACTOR,
  reason: e.reason ?? e.type,
  correlationId,
});

/**
 * The write path of the deployments this instance drives: every row goes into the event store
 * only while the deployment's lock is ours, fenced by our lock generation, in the order decided.
 */
@Injectable()
export class RolloutLog {
  constructor(
    private readonly events: RolloutEventRepository,
    private readonly lock: RolloutLock,
    private readonly drivers: RolloutDrivers,
    private readonly instance: RolloutInstance,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Appends `rows` after the driver's previous writes (ids in decision order). A failed write
   * stops the driver and releases its lock: whoever takes the deployment next replays the log,
   * which holds a prefix of what happened, and re-sends what is in flight.
   */
  record(d: DeploymentDriver, rows: NewEvent[]): Promise<void> {
    const write = d.writes.then(async () => {
      if (d.stopped) throw new Error('driver stopped');
      await this.append(d.deployment, rows);
    });
    d.writes = write.catch((e: Error) => this.abandon(d, e));
    return write;
  }

  /** Writes ack events held back for longer than a moment (the audit trail must not lag). */
  async flushUnrecorded(d: DeploymentDriver): Promise<void> {
    if (d.unrecorded.length === 0) return;
    await this.record(d, d.unrecorded.splice(0));
  }

  /**
   * Appends rows of a deployment this instance drives: the lock must be ours (lease, else Redis),
   * and in the same statement as the insert the deployment's fence is raised to our lock
   * generation — refused when a later holder has written, so a paused instance can never append
   * behind its successor.
   */
  async append(deployment: string, rows: NewEvent[]): Promise<void> {
    await this.fenced(deployment);
    const generation = this.lock.generation(deployment);
    if (!(await this.events.appendFenced({ deployment, generation, instance: this.instance.id }, rows))) {
      throw new Error(`fenced out: a later holder of ${deployment}'s rollout lock has written (our generation ${generation})`);
    }
  }

  /** The fence generation this instance holds the deployment's lock with (0: not held): commands carry it, acks echo it. */
  generation(deployment: string): number {
    return this.lock.generation(deployment);
  }

  /** Refuses to write (or send) for a deployment whose lock this instance no longer holds. */
  async fenced(deployment: string): Promise<void> {
    if (!(await this.lock.holds(deployment))) {
      const d = this.drivers.get(deployment);
      if (d) {
        d.stopped = true;
        this.drivers.remove(d);
      }
      throw new Error(`rollout lock of ${deployment} lost; stopped driving it`);
    }
  }

  private abandon(d: DeploymentDriver, e: Error): void {
    if (d.stopped) return;
    d.stopped = true;
    this.drivers.remove(d);
    this.logger.error({ deployment: d.deployment, rolloutId: d.rolloutId, err: e.message }, 'rollout log write failed: stopped driving; the next holder resumes from the log');
    void this.lock.release(d.deployment).catch(() => undefined);
  }
}
