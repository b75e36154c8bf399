import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_GROUPS, TOPICS } from '@eplb/contracts';
import { Prng, roundRobinMap } from '@eplb/domain';
import { KafkajsBus, MessageProducer, OutgoingMessage } from '@eplb/messaging';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';

/**
 * Collectors join and leave one consumer group while heat flows: partitions move between them in
 * the middle of episodes (a rebalance), and every deployment's episodes in Postgres hold exactly
 * what was produced — no report lost, none counted twice.
 */
describe('collectors added and removed mid-run', () => {
  const root = join(__dirname, '..', '..');
  const config = testConfig();
  const group = CONSUMER_GROUPS.collector(config.KAFKA_GROUP_PREFIX);
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-collector-scale-out' });
  const run = `scale-${randomUUID().slice(0, 8)}`;
  // several deployments: a deployment's heat is keyed to one partition, so collectors share deployments
  const deployments = Array.from({ length: 8 }, (_, i) => `${run}-${i}`);
  const L = 2, E = 6, R = 4, S = 3, K = 8;
  const PORTS = [3971, 3972, 3973];
  let ds: DataSource;
  let producer: MessageProducer;
  const collectors: ChildProcess[] = [];

  const startCollector = async (port: number): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [join(root, 'dist/apps/collector/src/main.js')], {
      env: { ...process.env, DATABASE_URL: config.DATABASE_URL, COLLECTOR_PORT: String(port), KAFKA_GROUP_PREFIX: config.KAFKA_GROUP_PREFIX, COLLECTOR_START_FROM: 'latest', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    collectors.push(child);
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 90_000);
    return child;
  };
  const stop = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  /** Partitions each collector process claimed (its owner id names its pid). */
  const claimedBy = async (child: ChildProcess): Promise<number[]> =>
    ((await ds.query(`SELECT partition FROM heat_partition_claims WHERE consumer_group = $1 AND owner LIKE $2`, [group, `%:${child.pid}:%`])) as { partition: number }[]).map((r) => r.partition);
  /** Deployments with an episode stored since `sinceMs` (the database's clock). */
  const storedSince = async (since: Date): Promise<number> =>
    ((await ds.query(`SELECT count(DISTINCT deployment_id)::int AS n FROM heat_episodes WHERE deployment_id = ANY($1) AND stored_at > $2`, [deployments, since])) as { n: number }[])[0].n;
  const dbNow = async (): Promise<Date> => ((await ds.query(`SELECT now() AS t`)) as { t: Date }[])[0].t;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/apps/collector/src/main.js'))) throw new Error('build first: `npm test` builds before the integration tier');
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-scale-out');
    await ds.initialize();
    for (const id of deployments) {
      await new DeploymentRepository(ds).create(
        { id, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 2, numGroups: null, episodeSteps: K, intervalSteps: 64, latenessSteps: 16, initialMap: roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 2 }) },
        { actor: 'test', reason: 'collector scale-out test', correlationId: run },
      );
    }
    producer = await bus.producer();
  });

  afterAll(async () => {
    for (const c of collectors) c.kill('SIGKILL');
    await producer?.close();
    await bus.close();
    await ds?.destroy();
  });

  it('keeps every deployment exact while a second collector joins, the first leaves and a third joins', { timeout: 600_000 }, async () => {
    const rng = new Prng(18);
    const tokens = new Map(deployments.map((d) => [d, 0]));
    // the first collector reads from the log's end: it is in the group before heat flows
    const a = await startCollector(PORTS[0]);
    let step = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    // Heat flows all along, a step of every deployment's ranks per send, so every rebalance
    // meets open episodes; it stops at an episode boundary once told to.
    const produce = (async () => {
      while (step < stopAt) {
        const messages: OutgoingMessage[] = [];
        for (const d of deployments) {
          for (let rank = 0; rank < R; rank++) {
            const load = Array.from({ length: L }, () => Array.from({ length: S }, () => Math.floor(rng.next() * 50)));
            tokens.set(d, tokens.get(d)! + load.flat().reduce((a, b) => a + b, 0));
            messages.push({ key: d, value: JSON.stringify(heatEvent(d, rank, step, load)) });
          }
        }
        await producer.send(TOPICS.heat, messages);
        step++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const stopProducing = () => {
      stopAt = Math.ceil((step + 1) / K) * K;
    };

    try {
      await eventually(async () => (await storedSince(new Date(0))) === deployments.length, 120_000, 500);

      // a second collector joins: the group shares the partitions out again
      const b = await startCollector(PORTS[1]);
      let since = await dbNow();
      await eventually(async () => (await claimedBy(b)).length > 0 && (await storedSince(since)) === deployments.length, 120_000, 500);

      // the first leaves: what it held moves to the second, open episodes and all
      await stop(a);
      since = await dbNow();
      await eventually(async () => (await storedSince(since)) === deployments.length, 120_000, 500);

      // and a third joins
      const c = await startCollector(PORTS[2]);
      since = await dbNow();
      await eventually(async () => (await claimedBy(c)).length > 0 && (await storedSince(since)) === deployments.length, 120_000, 500);
    } finally {
      stopProducing();
      await produce;
    }

    const steps = stopAt;
    const totals = async () =>
      (await ds.query(
        `SELECT deployment_id AS id, count(*)::int AS episodes, sum(events)::int AS events, count(*) FILTER (WHERE events <> $2)::int AS odd
         FROM heat_episodes WHERE deployment_id = ANY($1) GROUP BY deployment_id ORDER BY deployment_id`,
        [deployments, R * K],
      )) as { id: string; episodes: number; events: number; odd: number }[];
    await eventually(async () => {
      const t = await totals();
      return t.length === deployments.length && t.every((r) => r.episodes >= steps / K);
    }, 180_000, 500);
    expect(await totals()).toEqual(deployments.map((id) => ({ id, episodes: steps / K, events: steps * R, odd: 0 })));
    const repo = new HeatWindowRepository(ds);
    for (const d of deployments) {
      let stored = 0;
      for (const e of await repo.episodes(d, 'decode', { limit: steps / K + 1 })) for (const v of e.logicalLoad) stored += v;
      expect({ d, stored }).toEqual({ d, stored: tokens.get(d) });
    }
  });
});
