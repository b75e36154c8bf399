import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EpisodeStream, roundRobinMap } from '@eplb/domain';
import { DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { PolicyQueue } from '../../apps/scheduler/src/policy-queue';
import { HEAT_RETENTION_JOB } from '../../apps/scheduler/src/retention/heat-retention.job';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { eventually } from '../support/apps';
import { flushableRedisUrl, testConfig } from '../support/env';

/**
 * The scheduler app on real Redis and Postgres loses everything in Redis (FLUSHDB: a restart
 * without its data): the policy and retention schedules come back, and policy runs go on for
 * heat sealed after the loss, without a restart.
 */
describe('scheduler: Redis loses its data', () => {
  const redisUrl = flushableRedisUrl(testConfig().REDIS_URL, 10);
  const config = testConfig({ REDIS_URL: redisUrl });
  const shape = { numLayers: 4, numExperts: 16, numRanks: 8, slotsPerRank: 3, numNodes: 2 };
  const w = { ...shape, episodeSteps: 4, intervalSteps: 16, latenessSteps: 0 };
  const id = `sched-loss-${randomUUID().slice(0, 8)}`;
  const stream = new EpisodeStream(w, 'decode');
  let step = 0;
  let app: INestApplication;
  let ds: DataSource;
  let redis: Redis;

  /** Heat for one more interval, skewed onto ranks 0 and 1, stored as the collector would. */
  async function sealNextInterval(): Promise<void> {
    const repo = new HeatWindowRepository(ds);
    const t0 = Date.now() - 60_000;
    for (const end = step + 16; step < end + 4; step++) {
      for (let rank = 0; rank < shape.numRanks; rank++) {
        const load = Array.from({ length: shape.numLayers }, () => [rank === 0 ? 900 : 10, rank === 1 ? 700 : 10, 10]);
        stream.offer({ rank, step, steps: 1, mapVersion: 1, layerVersions: null, tsMs: t0 + step * 100, load }, (_v, l) => roundRobinMap(shape)[l]);
      }
    }
    step -= 4; // the last 4 steps only pushed the watermark; the next interval starts there
    const drained = stream.drain();
    await repo.ensurePartitions([t0]);
    await ds.transaction(async (em) => {
      await repo.insertEpisodes(em, id, drained.episodes);
      for (const interval of drained.intervals) await repo.sealInterval(em, id, 'decode', interval, w);
    });
  }

  const runs = async () => ((await ds.query(`SELECT run_key FROM policy_runs WHERE deployment_id = $1`, [id])) as { run_key: string }[]).map((r) => r.run_key);

  beforeAll(async () => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    await redis.flushdb();
    const logger = createLogger('scheduler', config.LOG_LEVEL);
    app = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: '127.0.0.1', port: 0 });
    ds = app.get(DataSource);
  });
  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
  });

  it('schedules come back and policy runs resume, without a restart', { timeout: 120_000 }, async () => {
    await new DeploymentRepository(ds).create(
      { id, ...shape, numGroups: null, episodeSteps: 4, intervalSteps: 16, latenessSteps: 0, initialMap: roundRobinMap(shape), settings: { cadenceSeconds: 1, mode: 'approve' } },
      { actor: 'test', reason: 'scheduler Redis loss test', correlationId: id },
    );
    await sealNextInterval();
    const first = await eventually(async () => ((await runs()).length === 1 ? runs() : null), 60_000, 200);

    const queue = app.get(PolicyQueue).queue;
    const keys = async () => (await queue.getJobSchedulers()).map((s) => s.key);
    expect(await keys()).toEqual(expect.arrayContaining([`policy:${id}`, HEAT_RETENTION_JOB]));
    await redis.flushdb();
    expect(await keys()).toEqual([]);

    await eventually(async () => {
      const k = await keys();
      return k.includes(`policy:${id}`) && k.includes(HEAT_RETENTION_JOB);
    }, 60_000, 200);
    await sealNextInterval();
    const after = await eventually(async () => ((await runs()).length === 2 ? runs() : null), 60_000, 200);
    expect(after.filter((k) => !first.includes(k))).toHaveLength(1);
  });
});
