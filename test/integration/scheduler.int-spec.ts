import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { HeatWindowRepository } from '@eplb/persistence';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { HEAT_RETENTION_JOB, HeatRetentionJob } from '../../apps/scheduler/src/retention/heat-retention.job';
import { JobSchedules } from '../../apps/scheduler/src/job-schedules';
import { PolicyQueue } from '../../apps/scheduler/src/policy-queue';
import { testConfig } from '../support/env';

/** The scheduler app on real Redis and Postgres: its retention job is scheduled once and drops old partitions. */
describe('scheduler: heat retention', () => {
  const config = testConfig({ HEAT_RETENTION_DAYS: '30' });
  let app: INestApplication;

  beforeAll(async () => {
    const logger = createLogger('scheduler', config.LOG_LEVEL);
    app = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app?.close());

  it('keeps one scheduler entry for the job, however often the app starts', async () => {
    const queue = app.get(PolicyQueue).queue;
    await app.get(JobSchedules).reconcile();
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.filter((s) => s.key === HEAT_RETENTION_JOB)).toHaveLength(1);
    expect(schedulers.find((s) => s.key === HEAT_RETENTION_JOB)?.every).toBe(3_600_000);
  });

  it('drops daily partitions past the retention and keeps the rest', async () => {
    const repo = app.get(HeatWindowRepository);
    const ds = app.get(DataSource);
    const old = Date.parse('2001-02-03T12:00:00Z');
    const recent = Date.now();
    await repo.ensurePartitions([old, recent]);
    const { dropped } = await app.get(HeatRetentionJob).run();
    expect(dropped).toEqual(expect.arrayContaining(['heat_episodes_20010203', 'heat_rollups_20010203']));
    const today = new Date(recent).toISOString().slice(0, 10).replace(/-/g, '');
    const left: { name: string }[] = await ds.query(`SELECT relname AS name FROM pg_class WHERE relname IN ('heat_episodes_20010203', 'heat_episodes_${today}')`);
    expect(left.map((r) => r.name)).toEqual([`heat_episodes_${today}`]);
  });
});
