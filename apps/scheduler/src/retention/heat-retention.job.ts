import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { heatRetentionCutoffMs } from '@eplb/contracts';
import { HeatWindowRepository } from '@eplb/persistence';
import { APP_CONFIG, AppConfig, LOGGER } from '@eplb/platform';
import { JobSchedules, ScheduleSource, ScheduleSpec } from '../job-schedules';
import { PolicyQueue } from '../policy-queue';

export const HEAT_RETENTION_JOB = 'heat-retention';

/**
 * Drops the daily partitions of episodes and rollups older than HEAT_RETENTION_DAYS, hourly.
 * Dropping a partition is instant and leaves no bloat, which is why the tables are partitioned.
 * One scheduler entry with a stable id: several scheduler instances never run it twice an hour;
 * JobSchedules keeps it (and sets it again if Redis lost it).
 */
@Injectable()
export class HeatRetentionJob implements ScheduleSource {
  constructor(
    queue: PolicyQueue,
    schedules: JobSchedules,
    private readonly windows: HeatWindowRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    queue.register(HEAT_RETENTION_JOB, () => this.run());
    schedules.register(this);
  }

  owns(id: string): boolean {
    return id === HEAT_RETENTION_JOB;
  }

  async wanted(): Promise<ReadonlyMap<string, ScheduleSpec>> {
    return new Map([[HEAT_RETENTION_JOB, { every: 3_600_000, name: HEAT_RETENTION_JOB, opts: { removeOnComplete: 24, removeOnFail: 100 } }]]);
  }

  async run(now = Date.now()): Promise<{ dropped: string[] }> {
    const cutoff = new Date(heatRetentionCutoffMs(now, this.config.HEAT_RETENTION_DAYS));
    const dropped = await this.windows.dropPartitionsBefore(cutoff);
    if (dropped.length) this.logger.info({ dropped, cutoff: cutoff.toISOString() }, 'heat partitions dropped by retention');
    return { dropped };
  }
}
