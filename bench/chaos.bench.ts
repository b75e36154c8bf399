/**
 * `npm run bench:chaos`: heat at a steady rate into a collector while its Postgres is restarted
 * (`-m immediate`, as a crash) three times and its Kafka broker (SIGKILL) three times, then counts
 * what was produced against what Postgres holds. Postgres and the broker are dedicated instances
 * on ports of their own (scripts/infra/postgres.ts, scripts/infra/kafka.ts), so the shared ones
 * are never disturbed; the collector runs in this process.
 *
 * produced = (rank, step) reports acknowledged by the broker (a send that fails is sent again until
 * it is); stored = events counted in the stored episodes; lost = produced − stored when positive,
 * duplicated = stored − produced when positive, and any token counted twice shows as a difference
 * in the token totals (checked too). Last line: one JSON object.
 *
 * Faults are a list (`FAULTS`): a Redis flush or an agent kill, once this bench also runs
 * rollouts, are one more entry each, counted in the same JSON line.
 *
 * Options (env): CHAOS_RATE steps/s (40; × CHAOS ranks reports), CHAOS_GAP_SECONDS between
 * faults (8), CHAOS_PG_RESTARTS (3), CHAOS_BROKER_RESTARTS (3).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { TOPICS, topicSpecs } from '@eplb/contracts';
import { Prng, roundRobinMap } from '@eplb/domain';
import { KafkajsBus, MessageProducer, OutgoingMessage } from '@eplb/messaging';
import { createDataSource, DeploymentRepository, ensureDatabase, HeatWindowRepository, runMigrations } from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';
import { startCollector } from '../apps/collector/src/start-collector';
import { KafkaInstance, startKafka, stopKafka } from '../scripts/infra/kafka';
import { DedicatedPostgres, freePort } from '../scripts/infra/postgres';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const L = 4, E = 16, R = 16, S = 2, N = 2, K = 8;
const RATE = Number(process.env.CHAOS_RATE ?? 40);
const GAP_MS = Number(process.env.CHAOS_GAP_SECONDS ?? 8) * 1000;
const PG_RESTARTS = Number(process.env.CHAOS_PG_RESTARTS ?? 3);
const BROKER_RESTARTS = Number(process.env.CHAOS_BROKER_RESTARTS ?? 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench:chaos] ${new Date().toISOString().slice(11, 19)} ${s}\n`);

interface Fault {
  readonly name: 'pg_restarts' | 'broker_restarts';
  run(): Promise<void>;
}

async function main(): Promise<Record<string, number>> {
  const pg = await DedicatedPostgres.create();
  const kafka: KafkaInstance = { broker: '', dataDir: mkdtempSync(join(tmpdir(), 'eplb-kafka-')), port: await freePort(), controllerPort: await freePort() };
  const k = { ...kafka, broker: `127.0.0.1:${kafka.port}` };
  log(`Postgres on ${pg.port}, Kafka on ${k.port} (controller ${k.controllerPort})`);
  let app: INestApplication | null = null;
  let ds: DataSource | null = null;
  let bus: KafkajsBus | null = null;
  try {
    await startKafka(k, log);
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: pg.url('eplb_chaos'),
      KAFKA_BROKERS: k.broker,
      KAFKA_GROUP_PREFIX: `chaos-${randomUUID().slice(0, 8)}`,
      COLLECTOR_START_FROM: 'earliest',
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'error',
    });
    await ensureDatabase(config.DATABASE_URL);
    ds = createDataSource(config.DATABASE_URL, 'eplb-chaos');
    await ds.initialize();
    await runMigrations(ds);
    const deployment = `chaos-${randomUUID().slice(0, 8)}`;
    await new DeploymentRepository(ds).create(
      { id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N, numGroups: null, episodeSteps: K, intervalSteps: 128, latenessSteps: 32, initialMap: roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N }) },
      { actor: 'bench', reason: 'chaos benchmark', correlationId: deployment },
    );
    bus = new KafkajsBus({ brokers: [k.broker], clientId: 'eplb-bench-chaos' });
    await bus.ensureTopics(topicSpecs(config.KAFKA_HEAT_PARTITIONS));
    // the collector's log on stderr: stdout ends with the figures
    app = await startCollector(config, pino({ level: config.LOG_LEVEL, base: { app: 'collector' } }, pino.destination(2)), 0);
    log('collector started');

    // Heat at a steady rate: a step of every rank's reports every 1/RATE s, queued; one sender
    // drains the queue in order, sending a chunk again until the broker acknowledges it.
    const rng = new Prng(20261206);
    const queue: OutgoingMessage[][] = [];
    let produced = 0;
    let tokens = 0;
    let step = 0;
    let producing = true;
    const ticker = setInterval(() => {
      // production stops on an episode boundary: a last episode left short would stay open
      if (!producing && step % K === 0) return;
      const messages: OutgoingMessage[] = [];
      for (let rank = 0; rank < R; rank++) {
        const load = Array.from({ length: L }, () => Array.from({ length: S }, () => Math.floor(rng.next() * 50)));
        tokens += load.flat().reduce((a, b) => a + b, 0);
        messages.push({ key: deployment, value: JSON.stringify({ v: 1, deployment, rank, step, steps: 1, phase: 'decode', mapVersion: 1, layerVersions: null, ts: new Date().toISOString(), load }) });
      }
      step++;
      queue.push(messages);
    }, 1000 / RATE);
    let sendFailures = 0;
    let sending = true;
    const sender = (async () => {
      let producer: MessageProducer | null = null;
      while (sending || queue.length > 0) {
        if (queue.length === 0) {
          await sleep(10);
          continue;
        }
        try {
          producer ??= await bus!.producer({ compression: 'none' });
          const chunk = queue.slice(0, 16);
          await producer.send(TOPICS.heat, chunk.flat());
          queue.splice(0, chunk.length);
          produced += chunk.length * R;
        } catch (err) {
          sendFailures++;
          if (sendFailures % 10 === 1) log(`send failed (${(err as Error).message}); sending again`);
          await producer?.close().catch(() => undefined);
          producer = null;
          await sleep(500);
        }
      }
      await producer?.close().catch(() => undefined);
    })();

    const stored = async () =>
      (await ds!.query(`SELECT coalesce(sum(events), 0)::bigint AS events FROM heat_episodes WHERE deployment_id = $1`, [deployment]).catch(() => [{ events: -1 }]))[0].events as string;
    const faults: Fault[] = [];
    for (let i = 0; i < Math.max(PG_RESTARTS, BROKER_RESTARTS); i++) {
      if (i < PG_RESTARTS) faults.push({ name: 'pg_restarts', run: () => pg.restartImmediate() });
      if (i < BROKER_RESTARTS) {
        faults.push({
          name: 'broker_restarts',
          run: async () => {
            await stopKafka(k, log, 'SIGKILL');
            await startKafka(k, log);
          },
        });
      }
    }
    const counts: Record<Fault['name'], number> = { pg_restarts: 0, broker_restarts: 0 };
    await sleep(GAP_MS);
    for (const f of faults) {
      log(`${f.name} #${counts[f.name] + 1} (stored so far ${await stored()} of ${produced})`);
      await f.run();
      counts[f.name]++;
      await sleep(GAP_MS);
    }
    producing = false;
    while (step % K !== 0) await sleep(10);
    clearInterval(ticker);
    sending = false;
    await sender;
    const total = step;
    // The last episodes close when complete; every step's reports were produced whole.
    log(`produced ${produced} reports (${total} steps); waiting for the collector to store them`);
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && Number(await stored()) < produced) await sleep(500);
    const events = Number(await stored());
    let storedTokens = 0;
    const episodes = await new HeatWindowRepository(ds).episodes(deployment, 'decode', { limit: Math.ceil(total / K) + 8 });
    for (const e of episodes) for (const v of e.logicalLoad) storedTokens += v;
    const result = {
      ...counts,
      produced,
      stored: events,
      lost: Math.max(0, produced - events),
      duplicated: Math.max(0, events - produced),
      tokens_produced: tokens,
      tokens_stored: storedTokens,
      send_retries: sendFailures,
    };
    writeSection(
      'Chaos: heat through Postgres and broker restarts (`npm run bench:chaos`)',
      [
        'Command: `npm run bench:chaos` (dedicated Postgres and Kafka on ports of their own; the collector in the bench process).',
        `Machine: ${machine()}.`,
        `Heat: ${RATE} steps/s × ${R} ranks (${L} layers × ${S} slots), ${(GAP_MS / 1000).toFixed(0)} s between faults; Postgres restarted with \`pg_ctl -m immediate\`, the broker killed with SIGKILL and started again.`,
        '',
        '| pg restarts | broker restarts | produced | stored | lost | duplicated | tokens produced | tokens stored | sends retried |',
        '|---|---|---|---|---|---|---|---|---|',
        `| ${counts.pg_restarts} | ${counts.broker_restarts} | ${produced} | ${events} | ${result.lost} | ${result.duplicated} | ${tokens} | ${storedTokens} | ${sendFailures} |`,
        '',
        JSON.stringify({ ...counts, produced, stored: events, lost: result.lost, duplicated: result.duplicated }),
      ].join('\n'),
    );
    return result;
  } finally {
    await app?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await ds?.destroy().catch(() => undefined);
    await stopKafka(k, log, 'SIGKILL').catch(() => undefined);
    rmSync(k.dataDir, { recursive: true, force: true });
    await pg.destroy();
  }
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (result.lost !== 0 || result.duplicated !== 0 || result.tokens_produced !== result.tokens_stored) process.exitCode = 1;
  },
  (err: unknown) => {
    process.stderr.write(`bench:chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
