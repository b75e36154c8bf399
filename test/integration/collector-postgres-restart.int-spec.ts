import { randomUUID } from 'node:crypto';
import { Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterV1, TOPICS } from '@eplb/contracts';
import { Prng, roundRobinMap } from '@eplb/domain';
import { KafkajsBus, MessageConsumer, MessageProducer } from '@eplb/messaging';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { DedicatedPostgres } from '../../scripts/infra/postgres';
import { eventually, RunningApp, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';

/**
 * The collector on a Postgres of its own, which is stopped at once (`-m immediate`, as a crash)
 * while heat flows and its batches fail, then started again, twice. Afterwards every report is
 * stored exactly once, every interval the watermark passed is sealed, the group's offsets reach
 * the end of what was produced, and nothing was dead-lettered as late.
 */
describe('collector while its Postgres restarts', () => {
  const deployment = `pgr-${randomUUID().slice(0, 8)}`;
  const L = 2, E = 8, R = 4, S = 3, K = 8, INTERVAL = 64, LATENESS = 16;
  const bus = new KafkajsBus({ brokers: testConfig().KAFKA_BROKERS, clientId: 'test-collector-pg-restart' });
  let pg: DedicatedPostgres;
  let config: ReturnType<typeof testConfig>;
  let collector: RunningApp;
  let ds: DataSource;
  let producer: MessageProducer;
  let dlq: MessageConsumer;
  let admin: Admin;
  const letters: string[] = [];

  beforeAll(async () => {
    pg = await DedicatedPostgres.create();
    config = testConfig({ DATABASE_URL: pg.url('eplb_pg_restart') });
    // the collector creates and migrates its database at start
    collector = await startTestCollector(config);
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-pg-restart');
    await ds.initialize();
    await new DeploymentRepository(ds).create(
      { id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1, numGroups: null, episodeSteps: K, intervalSteps: INTERVAL, latenessSteps: LATENESS, initialMap: roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 }) },
      { actor: 'test', reason: 'Postgres restart test', correlationId: deployment },
    );
    producer = await bus.producer();
    let joined = false;
    dlq = bus.consumer({ groupId: `test-pg-restart-dlq-${randomUUID()}`, topics: [TOPICS.heatDeadLetter], fromBeginning: false, onAssignment: () => (joined = true) });
    await dlq.run(async (batch) => {
      for (const m of batch.messages) {
        const letter = JSON.parse(m.value!.toString()) as DeadLetterV1;
        if (letter.key === deployment) letters.push(letter.reason);
      }
    });
    await eventually(async () => joined);
    admin = new Kafka({ clientId: 'test-collector-pg-restart-admin', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await dlq?.close();
    await producer?.close();
    await bus.close();
    await collector?.close();
    await ds?.destroy().catch(() => undefined);
    await pg?.destroy();
  });

  it('stores every event once, seals every interval and commits past it all, dead-lettering nothing as late', { timeout: 300_000 }, async () => {
    const rng = new Prng(15);
    let step = 0;
    let tokens = 0;
    /** Whole episodes of every rank's reports, one send per episode. */
    const produce = async (episodes: number) => {
      for (let i = 0; i < episodes; i++) {
        const messages = [];
        for (let s = step; s < step + K; s++) {
          for (let rank = 0; rank < R; rank++) {
            const load = Array.from({ length: L }, () => Array.from({ length: S }, () => Math.floor(rng.next() * 40)));
            tokens += load.flat().reduce((a, b) => a + b, 0);
            messages.push({ key: deployment, value: JSON.stringify(heatEvent(deployment, rank, s, load)) });
          }
        }
        await producer.send(TOPICS.heat, messages);
        step += K;
      }
    };
    const storedEpisodes = async () => Number((await ds.query(`SELECT count(*)::int AS n FROM heat_episodes WHERE deployment_id = $1`, [deployment]))[0].n);
    const readiness = async () => {
      const res = await fetch(`${collector.url}/readyz`);
      return { ok: res.ok, body: await res.text() };
    };

    await produce(12);
    await eventually(async () => (await storedEpisodes()) >= 4, 60_000);
    for (let restart = 0; restart < 2; restart++) {
      await pg.stopImmediate();
      // heat goes on while the database is down: the collector's batches fail and are retried
      await produce(12);
      await eventually(async () => (await readiness()).body.includes('heat not stored'), 60_000);
      await produce(4);
      await pg.start();
      await eventually(async () => (await readiness()).ok, 120_000);
      await produce(12);
    }
    await produce(12);

    const episodes = step / K;
    // the watermark (newest step − lateness) passed each interval's end plus the lateness grace
    const sealable = Math.floor((step - 2 * LATENESS) / INTERVAL);
    const totals = async () =>
      (
        await ds.query(
          `SELECT count(*)::int AS episodes, coalesce(sum(events), 0)::int AS events, coalesce(sum(late_events), 0)::int AS late,
                  count(*) FILTER (WHERE events <> $2)::int AS odd,
                  (SELECT count(*)::int FROM heat_intervals WHERE deployment_id = $1) AS intervals,
                  (SELECT coalesce(sum(events), 0)::int FROM heat_intervals WHERE deployment_id = $1) AS interval_events
           FROM heat_episodes WHERE deployment_id = $1`,
          [deployment, R * K],
        )
      )[0] as { episodes: number; events: number; late: number; odd: number; intervals: number; interval_events: number };
    await eventually(async () => {
      const t = await totals();
      return t.episodes >= episodes && t.intervals >= sealable;
    }, 120_000, 500);
    expect(await totals()).toEqual({ episodes, events: episodes * R * K, late: 0, odd: 0, intervals: sealable, interval_events: sealable * INTERVAL * R });
    const sealed: { interval: string }[] = await ds.query(`SELECT interval FROM heat_intervals WHERE deployment_id = $1 ORDER BY interval`, [deployment]);
    expect(sealed.map((r) => Number(r.interval))).toEqual(Array.from({ length: sealable }, (_, i) => i));
    let stored = 0;
    for (const e of await new HeatWindowRepository(ds).episodes(deployment, 'decode', { limit: episodes + 1 })) for (const v of e.logicalLoad) stored += v;
    expect(stored).toBe(tokens);

    // offsets: the group committed past everything produced on the deployment's partition
    const [{ partitions }] = (await admin.fetchTopicMetadata({ topics: [TOPICS.heat] })).topics;
    const partition = Partitioners.DefaultPartitioner()({ topic: TOPICS.heat, partitionMetadata: partitions, message: { key: deployment, value: null } });
    const high = BigInt((await admin.fetchTopicOffsets(TOPICS.heat)).find((p) => p.partition === partition)!.high);
    const group = `${config.KAFKA_GROUP_PREFIX}.collector`;
    await eventually(async () => {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [TOPICS.heat] });
      const c = committed.partitions.find((x) => x.partition === partition);
      return c !== undefined && BigInt(c.offset) >= high;
    }, 60_000, 500);
    expect(letters.filter((r) => r.startsWith('late'))).toEqual([]);
  });
});
