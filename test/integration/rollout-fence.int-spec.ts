import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutStream } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { replayRollout } from '@eplb/domain';
import { readWholeStream, rolloutMachineEvents } from '@eplb/persistence';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { eventually } from '../support/apps';
import { flushableRedisUrl, testConfig } from '../support/env';
import { startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { heldVersions, requestRollout, rolloutFinished, SimulatedCluster, startSimulatedCluster } from '../support/simulated-cluster';

/**
 * The rollout lock's fencing generations on the real stack (rollout service in process, agents in
 * process over its control channel, Kafka, Postgres, Redis): Redis losing everything — between
 * rollouts and in the middle of one — leaves the next lock holder a generation above every fence
 * stored, and it drives; a deployment that cannot start (fenced out by a newer writer) lets its
 * lock go, is retried, and holds up no other deployment.
 */
describe('rollout fence: generations from Postgres, one deployment never blocks another', () => {
  const redisUrl = flushableRedisUrl(testConfig().REDIS_URL, 9);
  const config = testConfig({ REDIS_URL: redisUrl });
  const settings = testRolloutSettings({
    ROLLOUT_LOCK_TTL_MS: '1500',
  });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-rollout-fence' });
  const clusters: SimulatedCluster[] = [];
  let rollout: INestApplication;
  let controlPort: number;
  let ds: DataSource;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    await redis.flushdb();
    const running = await startRolloutApp(config, settings);
    rollout = running.app;
    controlPort = running.service.controlChannelPort;
    ds = rollout.get(DataSource);
  });
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.close()));
    await rollout?.close();
    await bus.close();
    redis?.disconnect();
  });

  const cluster = async (prefix: string, delayMs: number): Promise<SimulatedCluster> => {
    const c = await startSimulatedCluster(ds, { deployment: `${prefix}-${randomUUID().slice(0, 8)}`, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, controlPort, faults: { delayMs } });
    clusters.push(c);
    return c;
  };
  const fenceOf = async (deployment: string): Promise<number> =>
    Number(((await ds.query(`SELECT generation FROM rollout_fences WHERE deployment_id = $1`, [deployment])) as { generation: string }[])[0]?.generation ?? 0);
  const story = async (rid: string) => {
    const s = replayRollout(rolloutMachineEvents(await readWholeStream(ds.manager, rolloutStream(rid))));
    return `${s.status} ${JSON.stringify(s.failure)} ${s.layers.map((l) => `L${l.layer} ${l.status}`).join(', ')}`;
  };

  it('Redis flushed between rollouts and mid-rollout: the next holder gets a higher generation and drives to the end', { timeout: 180_000 }, async () => {
    const c = await cluster('fence-flush', 0);
    const dep = c.deployment;
    // two rollouts, two lock holdings: the stored fence is past the first generation
    for (const version of [2, 1]) {
      const rid = await requestRollout(ds, dep, version);
      expect((await rolloutFinished(ds, dep, rid)).status, await story(rid)).toBe('SUCCEEDED');
    }
    const afterTwo = await fenceOf(dep);
    await eventually(async () => (await redis.exists(`eplb:rollout-lock:${dep}`)) === 0, 15_000, 50);
    await redis.flushdb(); // Redis comes back empty (or without its last second of AOF)

    // slow enough to flush in the middle, one layer at a time (with several layers in flight the
    // rollout could end before the holder notices its lock is gone)
    for (const b of c.backends) b.faults.delayMs = 400;
    const rid = await requestRollout(ds, dep, 2, 1);
    await eventually(async () => {
      const s = replayRollout(rolloutMachineEvents(await readWholeStream(ds.manager, rolloutStream(rid))));
      return s.layers.some((l) => l.status === 'COMMITTED');
    }, 60_000, 20);
    const beforeFlush = await fenceOf(dep);
    expect(beforeFlush).toBeGreaterThan(afterTwo);
    await redis.flushdb();

    const done = await rolloutFinished(ds, dep, rid, 90_000);
    expect(done.status, await story(rid)).toBe('SUCCEEDED');
    // the holder after the flush resumed from the log, under a generation above the one before it
    const stored = await readWholeStream(ds.manager, rolloutStream(rid));
    expect(stored.filter((e) => e.type === 'rollout.restarted').length).toBeGreaterThanOrEqual(1);
    expect(await fenceOf(dep)).toBeGreaterThan(beforeFlush);
    expect(await heldVersions(c.backends)).toEqual([2, 2, 2, 2]);
  });

  it('a deployment fenced out at start lets its lock go and is retried; another deployment rolls out meanwhile', { timeout: 180_000 }, async () => {
    const stuck = await cluster('fence-stuck', 0);
    const other = await cluster('fence-other', 200);
    // a newer holder (a paused instance's successor, say) wrote under a generation a few draws ahead
    const [{ max }] = (await ds.query(`SELECT coalesce(max(generation), 0)::int AS max FROM rollout_fences`)) as { max: number }[];
    const newer = max + 5;
    await ds.query(`INSERT INTO rollout_fences (deployment_id, generation, instance) VALUES ($1, $2, 'a newer holder')`, [stuck.deployment, newer]);
    const blocked = await requestRollout(ds, stuck.deployment, 2);
    const free = await requestRollout(ds, other.deployment, 2);
    expect((await rolloutFinished(ds, other.deployment, free)).status, await story(free)).toBe('SUCCEEDED');
    expect(await heldVersions(other.backends)).toEqual([2, 2, 2, 2]);
    // each failed start let the lock go; the next poll drew a new generation, until one passed the fence
    expect((await rolloutFinished(ds, stuck.deployment, blocked)).status, await story(blocked)).toBe('SUCCEEDED');
    expect(await fenceOf(stuck.deployment)).toBeGreaterThanOrEqual(newer);
    expect(await heldVersions(stuck.backends)).toEqual([2, 2, 2, 2]);
  });
});
