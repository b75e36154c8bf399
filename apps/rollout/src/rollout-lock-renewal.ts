import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@eplb/platform';
import { RolloutDrivers } from './driving/rollout-drivers';
import { RolloutLock } from './rollout-lock';
import { ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';

/**
 * Keeps the locks of the deployments this instance drives: renewed three times per TTL; a lock
 * found lost (expired, taken over) stops its driver at once — the new holder resumes from the log.
 */
@Injectable()
export class RolloutLockRenewal {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly lock: RolloutLock,
    private readonly drivers: RolloutDrivers,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get running(): boolean {
    return this.timer !== null;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.renew(), Math.max(100, Math.floor(this.settings.ROLLOUT_LOCK_TTL_MS / 3)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async renew(): Promise<void> {
    for (const d of this.drivers.all()) {
      const ok = await this.lock.renew(d.deployment).catch(() => false);
      if (!ok && this.drivers.remove(d)) {
        d.stopped = true;
        this.logger.error({ deployment: d.deployment }, 'rollout lock lost: stopped driving');
      }
    }
  }
}
