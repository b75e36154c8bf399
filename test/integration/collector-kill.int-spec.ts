import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@eplb/contracts';
import { Prng, roundRobinMap } from '@eplb/domain';
import { KafkajsBus, MessageProducer } from '@eplb/messaging';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';
import { freePorts } from '../support/processes';

/**
 * kill -9 the collector five times while heat flows; every restart resumes from the committed
 * offsets and the episodes' receipts, and the totals in Postgres are exactly what was produced.
 */
describe('collector killed with SIGKILL during a run', () => {
  const root = join(__dirname, '..', '..');
  const config = testConfig();
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-collector-kill' });
  const deployment = `kill-${randomUUID().slice(0, 8)}`;
  const L = 4, E = 16, R = 8, S = 3, K = 8;
  const STEPS = 2000;
  let port = 0;
  let ds: DataSource;
  let producer: MessageProducer;
  let collector: ChildProcess | null = null;

  const start = async () => {
    collector = spawn(process.execPath, [join(root, 'dist/apps/collector/src/main.js')], {
      env: { ...process.env, DATABASE_URL: config.DATABASE_URL, COLLECTOR_PORT: String(port), KAFKA_GROUP_PREFIX: config.KAFKA_GROUP_PREFIX, COLLECTOR_START_FROM: 'latest', LOG_LEVEL: process.env.KILL_TEST_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', process.env.KILL_TEST_LOG ? openSync(process.env.KILL_TEST_LOG, 'a') : 'ignore', 'inherit'],
    });
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000);
  };

  /** SIGKILL, and wait until the process is gone: its successor binds the same port. */
  const kill = async () => {
    const c = collector as ChildProcess | null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await gone;
  };

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/apps/collector/src/main.js'))) throw new Error('build first: `npm test` builds before the integration tier');
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-kill');
    await ds.initialize();
    await new DeploymentRepository(ds).create(
      { id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 2, numGroups: null, episodeSteps: K, intervalSteps: 64, latenessSteps: 16, initialMap: roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 2 }) },
      { actor: 'test', reason: 'kill -9 test', correlationId: deployment },
    );
    producer = await bus.producer();
    [port] = await freePorts(1);
    await start();
  });

  afterAll(async () => {
    await kill();
    await producer?.close();
    await bus.close();
    await ds?.destroy();
  });

  it('stores every event exactly once across five SIGKILLs', { timeout: 300_000 }, async () => {
    const rng = new Prng(5);
    let tokens = 0;
    const kills = new Set([300, 650, 1000, 1350, 1700]);
    for (let step = 0; step < STEPS; step++) {
      const messages = [];
      for (let rank = 0; rank < R; rank++) {
        const load = Array.from({ length: L }, () => Array.from({ length: S }, () => Math.floor(rng.next() * 50)));
        tokens += load.flat().reduce((a, b) => a + b, 0);
        messages.push({ key: deployment, value: JSON.stringify(heatEvent(deployment, rank, step, load)) });
      }
      await producer.send(TOPICS.heat, messages);
      if (kills.has(step)) {
        await kill();
        await start();
      }
    }
    const expectedEpisodes = STEPS / K;
    const totals = async () =>
      (await ds.query(`SELECT count(*)::int AS episodes, coalesce(sum(events), 0)::int AS events, count(*) FILTER (WHERE events <> $2)::int AS odd FROM heat_episodes WHERE deployment_id = $1`, [deployment, R * K]))[0] as {
        episodes: number;
        events: number;
        odd: number;
      };
    await eventually(async () => (await totals()).episodes >= expectedEpisodes, 90_000, 500);
    expect(await totals()).toEqual({ episodes: expectedEpisodes, events: STEPS * R, odd: 0 });
    let stored = 0;
    for (const e of await new HeatWindowRepository(ds).episodes(deployment, 'decode', { limit: expectedEpisodes + 1 })) for (const v of e.logicalLoad) stored += v;
    expect(stored).toBe(tokens);
  });
});
