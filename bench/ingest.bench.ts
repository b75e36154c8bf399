/**
 * `npm run bench:ingest`: simulator → Kafka → collector (its own process, as deployed) → Postgres
 * for a DeepSeek-V3 shape (58 layers, 256 experts, 64 ranks × 5 slots). Produces heat at a target
 * rate for a fixed time, then checks that Postgres holds exactly what was produced.
 *
 * lag = stored_at − ended_at of each episode: from the last report of an episode (its ts, stamped at
 * production) to the commit of the transaction that stored it. Last line: one JSON object.
 *
 * Options (env): INGEST_SECONDS (60), INGEST_RATE events/s (10000), INGEST_KILLS (0: kill -9 the
 * collector that many times during the run and restart it), INGEST_COLLECTORS (1: collectors in
 * one consumer group sharing the heat topic's partitions), INGEST_DEPLOYMENTS (1: the rate is split
 * over this many deployments; a deployment's heat is keyed to one partition, so several collectors
 * only share the work of several deployments), INGEST_PROFILE (a directory: each collector runs
 * under `node --cpu-prof` and writes its profile there), INGEST_PORT (3901: the first collector's
 * HTTP port, the others follow it), INGEST_ENCODING (v2: binary rows, `eplb.heat.v2`, the encoding for high rates; v1: JSON),
 * INGEST_COLLECTOR_NODE_OPTIONS (node options for the collectors, space-separated, after the app's own).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterSimulator, roundRobinMap, RouterModel } from '@eplb/domain';
import { encodeHeatEventV2, TOPICS } from '@eplb/contracts';
import { KafkajsBus, OutgoingMessage } from '@eplb/messaging';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { loadConfig, nodeFlagsOf } from '@eplb/platform';
import { KafkaInstance, startKafka, stopKafka } from '../scripts/infra/kafka';
import { freePort } from '../scripts/infra/postgres';
import { ensurePostgres, ensureRedis, migrate } from '../scripts/infra/up';
import { machine } from './lib/machine';
import { nodeOptionsFromEnv } from './lib/node-options';
import { writeSection } from './lib/results';

const L = 58, E = 256, R = 64, S = 5, N = 8, K = 16;
const SECONDS = Number(process.env.INGEST_SECONDS ?? 60);
const RATE = Number(process.env.INGEST_RATE ?? 10_000);
const KILLS = Number(process.env.INGEST_KILLS ?? 0);
const COLLECTORS = Number(process.env.INGEST_COLLECTORS ?? 1);
const DEPLOYMENTS = Number(process.env.INGEST_DEPLOYMENTS ?? 1);
const PROFILE = process.env.INGEST_PROFILE;
/** Node options the collectors start with, after the app's own (a later value of a V8 flag wins). */
const COLLECTOR_NODE_OPTIONS = nodeOptionsFromEnv('INGEST_COLLECTOR_NODE_OPTIONS');
const PORT = Number(process.env.INGEST_PORT ?? 3901);
const ENCODING = process.env.INGEST_ENCODING === 'v1' ? 'v1' : 'v2';
const COMPRESSION = process.env.INGEST_COMPRESSION === 'gzip' ? 'gzip' : 'none';
/** Steps per produce request: 64 ranks' reports of 4 steps travel together. */
const STEPS_PER_SEND = 4;
const ROOT = join(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CPU seconds (user + system) a live process has used, from /proc (Linux): clock ticks of 1/100 s. */
const cpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};
const log = (s: string) => process.stderr.write(`[bench:ingest] ${s}\n`);

/**
 * A broker of the bench's own, on free ports with a throw-away data dir: a minute at 20,000 events/s
 * is over a million reports, which must not become the backlog of a stack that later reads the
 * shared broker's heat topic from its start.
 */
async function ownBroker(): Promise<KafkaInstance> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const k: KafkaInstance = { broker: `127.0.0.1:${port}`, dataDir: mkdtempSync(join(tmpdir(), 'eplb-bench-ingest-kafka-')), port, controllerPort };
  await startKafka(k, log);
  return k;
}

async function main(): Promise<void> {
  const broker = await ownBroker();
  try {
    await measure(broker);
  } finally {
    await stopKafka(broker, log).catch(() => false);
    rmSync(broker.dataDir, { recursive: true, force: true });
  }
}

async function measure(broker: KafkaInstance): Promise<void> {
  const config = loadConfig({ ...process.env, KAFKA_BROKERS: broker.broker, LOG_LEVEL: 'warn' });
  await ensurePostgres(config, log);
  await migrate(config, log);
  await ensureRedis(config, log);
  const ds = createDataSource(config.DATABASE_URL, 'eplb-bench');
  await ds.initialize();
  const run = `bench-ingest-${randomUUID().slice(0, 8)}`;
  const deployments = Array.from({ length: DEPLOYMENTS }, (_, d) => (DEPLOYMENTS === 1 ? run : `${run}-${d}`));
  const map = roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N });
  for (const deployment of deployments) {
    await new DeploymentRepository(ds).create(
      { id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N, numGroups: null, episodeSteps: K, intervalSteps: 1024, latenessSteps: 64, initialMap: map },
      { actor: 'bench', reason: 'ingest benchmark', correlationId: run },
    );
  }

  // The collectors as deployed: their own processes, one fresh consumer group reading from the log end.
  const group = `bench-${run}`;
  const collectors: (ChildProcess | null)[] = Array.from({ length: COLLECTORS }, () => null);
  const startCollector = async (i: number) => {
    const port = PORT + i;
    collectors[i] = spawn(process.execPath, [...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : []), ...nodeFlagsOf('collector'), ...COLLECTOR_NODE_OPTIONS, join(ROOT, 'dist/apps/collector/src/main.js')], {
      env: { ...process.env, KAFKA_BROKERS: broker.broker, COLLECTOR_PORT: String(port), KAFKA_GROUP_PREFIX: group, COLLECTOR_START_FROM: 'latest', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) return;
      await sleep(200);
    }
  };
  await Promise.all(collectors.map((_, i) => startCollector(i)));

  // Heat from the router model (skewed, drifting, alternating), pre-rendered per (rank, step mod W)
  // so the producer spends its time on Kafka, not on JSON.
  const W = 64;
  const sim = new ClusterSimulator({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S }, new RouterModel({ numLayers: L, numExperts: E, tokensPerStep: 8192, topK: 8, seed: 7, scenarios: ['alternating', 'drift'] }), map.map((row) => ({ version: 1, physicalToLogical: row })));
  const loads: string[][] = [];
  /** v2: each (step mod W, rank)'s rows encoded once; a message is a copy with its deployment, step and ts written in */
  const rowsV2: Buffer[][] = [];
  const tokens: number[] = [];
  for (let w = 0; w < W; w++) {
    const { slots } = sim.next();
    const perRank: string[] = [];
    const perRankV2: Buffer[] = [];
    let total = 0;
    for (let r = 0; r < R; r++) {
      const rows: number[][] = [];
      for (let l = 0; l < L; l++) {
        const row = Array.from(slots.subarray(l * R * S + r * S, l * R * S + (r + 1) * S));
        total += row.reduce((a, b) => a + b, 0);
        rows.push(row);
      }
      perRank.push(JSON.stringify(rows));
      perRankV2.push(encodeHeatEventV2({ deployment: deployments[0], rank: r, step: 0, steps: 1, phase: 'decode', mapVersion: 1, layerVersions: null, ts: new Date(0).toISOString(), load: rows }));
    }
    loads.push(perRank);
    rowsV2.push(perRankV2);
    tokens.push(total);
  }

  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'bench-ingest' });
  const producer = await bus.producer({ compression: COMPRESSION });
  const stepsPerSecond = RATE / (R * DEPLOYMENTS);
  const totalSteps = Math.floor(SECONDS * stepsPerSecond / K) * K; // whole episodes
  let produced = 0;
  let producedTokens = 0;
  const started = Date.now();
  const loadBefore = loadavg()[0];
  const killAt = new Set(Array.from({ length: KILLS }, (_, i) => Math.floor(((i + 1) * totalSteps) / (KILLS + 1))));
  const inFlight: Promise<void>[] = [];
  const messages: OutgoingMessage[] = [];
  for (let step = 0; step < totalSteps; step++) {
    const due = started + (step / stepsPerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const ts = new Date().toISOString();
    for (const deployment of deployments) {
      for (let r = 0; r < R; r++) {
        if (ENCODING === 'v2') {
          const template = rowsV2[step % W][r];
          const value = Buffer.allocUnsafe(template.length);
          template.copy(value);
          // every deployment id of a run has the first one's length: the rows sit where they did
          value.write(deployment, 4, 'latin1');
          value.writeDoubleLE(step, 4 + deployment.length + 16);
          value.writeDoubleLE(Date.parse(ts), 4 + deployment.length + 24);
          messages.push({ key: deployment, value });
          continue;
        }
        messages.push({ key: deployment, value: `{"v":1,"deployment":"${deployment}","rank":${r},"step":${step},"steps":1,"phase":"decode","mapVersion":1,"layerVersions":null,"ts":"${ts}","load":${loads[step % W][r]}}` });
      }
      produced += R;
      producedTokens += tokens[step % W];
    }
    if ((step + 1) % STEPS_PER_SEND === 0 || step === totalSteps - 1) {
      inFlight.push(producer.send(TOPICS.heat, messages.splice(0)));
      if (inFlight.length >= 8) await inFlight.shift();
    }
    if (killAt.has(step) && collectors[0]) {
      log(`kill -9 collector at step ${step}`);
      collectors[0].kill('SIGKILL');
      await startCollector(0);
    }
  }
  await Promise.all(inFlight);
  const produceSeconds = (Date.now() - started) / 1000;
  log(`produced ${produced} events in ${produceSeconds.toFixed(1)} s`);

  // Wait until every episode is stored (all complete: every rank reported every step).
  const episodesExpected = (totalSteps / K) * DEPLOYMENTS;
  let rows: { episodes: number; events: number; lag_p50: number; lag_p99: number; bytes: number }[] = [];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    rows = await ds.query(
      `SELECT count(*)::int AS episodes, coalesce(sum(events), 0)::int AS events,
              coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - ended_at) * 1000), 0) AS lag_p50,
              coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - ended_at) * 1000), 0) AS lag_p99,
              coalesce(sum(pg_column_size(heat_episodes.*)), 0)::bigint AS bytes
       FROM heat_episodes WHERE deployment_id = ANY($1)`,
      [deployments],
    );
    if (rows[0].episodes >= episodesExpected) break;
    await sleep(500);
  }
  const drainedAt = Date.now();
  // the 1-minute load average at the end covers the run's last minute: the machine is shared
  const loadAfter = loadavg()[0];
  const repo = new HeatWindowRepository(ds);
  let storedTokens = 0;
  for (const deployment of deployments) {
    let after = -1;
    for (;;) {
      const page = await repo.episodes(deployment, 'decode', { afterEpisode: after, limit: 100 });
      for (const e of page) for (const v of e.logicalLoad) storedTokens += v;
      if (page.length < 100) break;
      after = page[page.length - 1].episode;
    }
  }
  // the collectors' own CPU per stored event: a figure the shared machine's load skews far less
  // than throughput (a collector killed during the run takes its share with it)
  const collectorCpu = collectors.reduce((sum, c) => sum + cpuSeconds(c?.pid), 0);
  // SIGTERM lets a profiled collector write its profile; wait for every one to go
  await Promise.all(
    collectors.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (!c || c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await bus.close();
  await ds.destroy();

  const stored = rows[0].events;
  const result = {
    events_per_s: Math.round(stored / ((drainedAt - started) / 1000)),
    lag_p50_ms: Math.round(rows[0].lag_p50),
    lag_p99_ms: Math.round(rows[0].lag_p99),
    produced,
    stored,
    lost: Math.max(0, produced - stored),
    duplicated: Math.max(0, stored - produced),
    tokens_produced: producedTokens,
    tokens_stored: storedTokens,
    episodes: rows[0].episodes,
    storage_bytes_per_rank_step: Math.round(Number(rows[0].bytes) / produced),
    seconds: SECONDS,
    target_rate: RATE,
    kills: KILLS,
    collector_cpu_us_per_event: Math.round((collectorCpu / Math.max(1, rows[0].events)) * 1e6),
    encoding: ENCODING,
    collectors: COLLECTORS,
    deployments: DEPLOYMENTS,
    load_avg_1m_start: Number(loadBefore.toFixed(2)),
    load_avg_1m_end: Number(loadAfter.toFixed(2)),
  };
  const settings = [
    KILLS ? `INGEST_KILLS=${KILLS}` : '',
    RATE !== 10_000 ? `INGEST_RATE=${RATE}` : '',
    COLLECTORS !== 1 ? `INGEST_COLLECTORS=${COLLECTORS}` : '',
    DEPLOYMENTS !== 1 ? `INGEST_DEPLOYMENTS=${DEPLOYMENTS}` : '',
    ENCODING !== 'v2' ? `INGEST_ENCODING=${ENCODING}` : '',
  ].filter(Boolean).join(' ');
  const command = `${settings ? `${settings} ` : ''}npm run bench:ingest`;
  writeSection(
    command === 'npm run bench:ingest' ? 'Ingestion (`npm run bench:ingest`)' : `Ingestion (\`${command}\`)`,
    `Command: \`${command}\` (bench/ingest.bench.ts; INGEST_SECONDS=${SECONDS}, INGEST_RATE=${RATE}, INGEST_COLLECTORS=${COLLECTORS}, INGEST_DEPLOYMENTS=${DEPLOYMENTS}). Machine: ${machine()}; 1-minute load average ${loadBefore.toFixed(2)} at the start, ${loadAfter.toFixed(2)} at the end.
Simulator → Kafka (a one-node KRaft broker of the bench's own on this machine) → ${COLLECTORS === 1 ? 'collector (own process)' : `${COLLECTORS} collectors (own processes, one consumer group)`} → Postgres 15, DeepSeek-V3 shape
(58 layers × 256 experts, 64 ranks × 5 slots), 16-step episodes; the broker, Postgres, producer and collector share the 2 cores.
${DEPLOYMENTS === 1 ? '' : `${DEPLOYMENTS} deployments of that shape, ${RATE / DEPLOYMENTS} events/s each (a deployment's heat is keyed to one partition).\n`}Producer: kafkajs, ${ENCODING === 'v2' ? '`eplb.heat.v2` binary rows' : '`eplb.heat.v1` JSON'}, idempotent, acks=all, compression ${COMPRESSION}, ${STEPS_PER_SEND} steps × 64 ranks per request, up to 8 requests in flight.
events_per_s = events stored / (time from first produce to last episode stored); lag = stored_at − ended_at per episode;
collector_cpu_us_per_event = the collectors' user + system CPU time (from /proc, startup included) / events stored.

\`\`\`json
${JSON.stringify(result)}
\`\`\``,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:ingest failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
