/**
 * `npm run bench:chaos`: heat at a steady rate into a collector and rollouts running, while the
 * bench restarts its Postgres (`-m immediate`, as a crash) three times, its Kafka broker (SIGKILL)
 * three times, flushes its Redis (FLUSHALL) once and SIGKILLs an agent mid-commit; then counts what
 * was produced against what Postgres holds, which layers the agents left mixed, and which
 * deployments were left with a rollout not finished or their lock held.
 *
 * Parties: Postgres, Kafka and Redis are dedicated instances on ports of their own
 * (scripts/infra/postgres.ts, kafka.ts, redis.ts), so the shared ones are never disturbed; the
 * collector runs in this process; the rollout service (dist/apps/rollout) and one agent per node
 * (dist/apps/agent, simulated backends moving weights over loopback TCP, state in AGENT_STATE_DIR)
 * are processes of the built apps (`npm run build` first), as deployed. Rollouts are requested one
 * after the other, each to the version not in service (v1 ↔ v2), until the faults are over.
 *
 * produced = (rank, step) reports acknowledged by the broker (a send that fails is sent again until
 * it is); stored = events counted in the stored episodes; lost = produced − stored when positive,
 * duplicated = stored − produced when positive, and any token counted twice shows as a difference
 * in the token totals (checked too). mixed_layers: once everything settled, the agents are stopped
 * and their saved state (what the ranks hold: AGENT_STATE_DIR) read: a layer counts when its ranks
 * do not all hold the rows of one and the same map version (or a rank's label says another
 * version than its rows). stuck_deployments: a deployment whose rollout is not finished, whose
 * request was never taken, or whose rollout lock is still held once everything settled.
 * agents_rebuilt: after the Redis flush, the API's list of the deployment's agents (what
 * `GET /v1/deployments/{id}/agents` answers, read from the registry the rollout service keeps in
 * Redis) shows every node connected again within REGISTRY_REBUILD_BOUND_MS; the bench fails
 * otherwise.
 * The agent kill waits for the moment an agent has not yet swapped a layer whose commit the other
 * agent already acked (agent 1 waits CHAOS_COMMIT_DELAY_MS for its step boundary before each swap,
 * which makes that window), then SIGKILLs it and starts it again on its state directory.
 * Last line: one JSON object.
 *
 * Options (env): CHAOS_RATE steps/s (40; × 16 ranks reports), CHAOS_GAP_SECONDS between faults
 * (8), CHAOS_PG_RESTARTS (3), CHAOS_BROKER_RESTARTS (3), CHAOS_REDIS_FLUSHES (1),
 * CHAOS_AGENT_KILLS (1), CHAOS_COMMIT_DELAY_MS (1500).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { agentRegistryKey, deploymentRolloutsStream, publicKeyText, ROLLOUT_EVENTS, TOPICS, topicSpecs } from '@eplb/contracts';
import type { SimulatedBackendSnapshot } from '@eplb/device';
import { Prng, replayRollout, RolloutEvent, roundRobinMap } from '@eplb/domain';
import { KafkajsBus, loadOrCreateSigningKey, MessageProducer, OutgoingMessage } from '@eplb/messaging';
import {
  AgentKeyRepository,
  ApiTokenRepository,
  appendEvents,
  createDataSource,
  DeploymentRepository,
  DeploymentRolloutsReader,
  ensureDatabase,
  HeatWindowRepository,
  runMigrations,
} from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';
import { AgentsUseCase } from '../apps/api/src/rollouts/agents.use-case';
import { startCollector } from '../apps/collector/src/start-collector';
import { KafkaInstance, startKafka, stopKafka } from '../scripts/infra/kafka';
import { DedicatedPostgres, freePort } from '../scripts/infra/postgres';
import { DedicatedRedis } from '../scripts/infra/redis';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';
import { AppProcess } from '../test/support/processes';

const L = 4, E = 16, R = 16, S = 2, N = 2, K = 8;
const EXPERT_BYTES = 1024;
const RATE = Number(process.env.CHAOS_RATE ?? 40);
const GAP_MS = Number(process.env.CHAOS_GAP_SECONDS ?? 8) * 1000;
const PG_RESTARTS = Number(process.env.CHAOS_PG_RESTARTS ?? 3);
const BROKER_RESTARTS = Number(process.env.CHAOS_BROKER_RESTARTS ?? 3);
const REDIS_FLUSHES = Number(process.env.CHAOS_REDIS_FLUSHES ?? 1);
const AGENT_KILLS = Number(process.env.CHAOS_AGENT_KILLS ?? 1);
const COMMIT_DELAY_MS = Number(process.env.CHAOS_COMMIT_DELAY_MS ?? 1500);
/**
 * How soon after the Redis flush every agent must show connected in the API's list again: the
 * rollout service rewrites an agent's registry entry at least every 5 s while its heartbeats
 * (1 s here) come in; the rest is room for a loaded machine.
 */
const REGISTRY_REBUILD_BOUND_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[bench:chaos] ${new Date().toISOString().slice(11, 19)} +${((Date.now() - t0) / 1000).toFixed(0)}s ${s}\n`);

type FaultName = 'pg_restarts' | 'broker_restarts' | 'redis_flushes' | 'agent_kills';
interface Fault {
  readonly name: FaultName;
  run(): Promise<void>;
}

async function main(): Promise<Record<string, number | boolean | null>> {
  const pg = await DedicatedPostgres.create();
  const redisServer = await DedicatedRedis.create();
  const kafka: KafkaInstance = { broker: '', dataDir: mkdtempSync(join(tmpdir(), 'eplb-kafka-')), port: await freePort(), controllerPort: await freePort() };
  const k = { ...kafka, broker: `127.0.0.1:${kafka.port}` };
  const dir = mkdtempSync(join(tmpdir(), 'eplb-chaos-'));
  log(`Postgres on ${pg.port}, Redis on ${redisServer.port}, Kafka on ${k.port} (controller ${k.controllerPort})`);
  let app: INestApplication | null = null;
  let ds: DataSource | null = null;
  let bus: KafkajsBus | null = null;
  let redis: Redis | null = null;
  let service: AppProcess | null = null;
  const agents: AppProcess[] = [];
  try {
    await startKafka(k, log);
    const group = `chaos-${randomUUID().slice(0, 8)}`;
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: pg.url('eplb_chaos'),
      KAFKA_BROKERS: k.broker,
      REDIS_URL: redisServer.url(0),
      KAFKA_GROUP_PREFIX: group,
      COLLECTOR_START_FROM: 'earliest',
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'error',
    });
    await ensureDatabase(config.DATABASE_URL);
    ds = createDataSource(config.DATABASE_URL, 'eplb-chaos');
    await ds.initialize();
    await runMigrations(ds);
    redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);

    // One deployment: its heat, and its map rolled out v1 ↔ v2 by the rollout service and its agents.
    const deployment = `chaos-${randomUUID().slice(0, 8)}`;
    const shape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N };
    const v1 = roundRobinMap(shape);
    // every expert twice in each layer, on other ranks than v1 (most slots move between the nodes)
    const v2 = Array.from({ length: L }, (_, l) => Array.from({ length: R * S }, (_, p) => (p * 5 + 3 * l) % E));
    const mapOf = (v: number) => (v === 1 ? v1 : v2);
    const repo = new DeploymentRepository(ds);
    const meta = { actor: 'bench', reason: 'chaos benchmark', correlationId: deployment };
    await repo.create({ id: deployment, ...shape, numGroups: null, episodeSteps: K, intervalSteps: 128, latenessSteps: 32, initialMap: v1, settings: { expertBytes: EXPERT_BYTES } }, meta);
    await ds.transaction((em) => repo.createMapVersion(em, deployment, 1, v2, meta, { source: 'bench' }));

    bus = new KafkajsBus({ brokers: [k.broker], clientId: 'eplb-bench-chaos' });
    await bus.ensureTopics(topicSpecs(config.KAFKA_HEAT_PARTITIONS));
    // the collector's log on stderr: stdout ends with the figures
    app = await startCollector(config, pino({ level: config.LOG_LEVEL, base: { app: 'collector' } }, pino.destination(2)), 0);
    log('collector started');

    // The rollout service and the agents, as deployed: processes of the built apps.
    const [httpPort, controlPort, ...agentPorts] = await Promise.all(Array.from({ length: 2 + 2 * N }, () => freePort()));
    const serviceEnv = {
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      KAFKA_BROKERS: k.broker,
      KAFKA_GROUP_PREFIX: group,
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      MIGRATIONS_RUN_AT_START: 'false',
      ROLLOUT_PORT: String(httpPort),
      ROLLOUT_CONTROL_PORT: String(controlPort),
      ROLLOUT_SIGNING_KEY_FILE: join(dir, 'rollout-signing.key'),
      ROLLOUT_LOCK_TTL_MS: '3000',
      ROLLOUT_TICK_MS: '20',
      ROLLOUT_POLL_MS: '100',
      ROLLOUT_RESEND_MS: '1000',
      ROLLOUT_PREPARE_TIMEOUT_MS: '20000',
      ROLLOUT_COMMIT_TIMEOUT_MS: '60000',
    };
    // the service's signing key made here, so the agents can pin its public half from the start
    const serviceKey = publicKeyText(loadOrCreateSigningKey(serviceEnv.ROLLOUT_SIGNING_KEY_FILE).key);
    let serviceRestarts = 0;
    const startService = () => (service = new AppProcess('rollout', 'rollout', serviceEnv));
    startService();
    const tokens = await Promise.all(Array.from({ length: N }, async (_, a) => (await new ApiTokenRepository(ds!).issue(`${deployment}-agent-${a}`, 'agent', meta, { deployment, node: a })).token));
    const mapFile = join(dir, 'map.json');
    writeFileSync(mapFile, JSON.stringify({ shape, version: 1, physicalToLogical: v1 }));
    const peers = Array.from({ length: N }, (_, a) => `${a}=127.0.0.1:${agentPorts[N + a]}`).join(',');
    const stateDir = (a: number) => join(dir, `state-${a}`);
    const keyFiles = Array.from({ length: N }, (_, a) => join(dir, `agent-${a}.key`));
    for (const [a, f] of keyFiles.entries()) {
      await new AgentKeyRepository(ds).enrol({ deployment, node: a, publicKey: publicKeyText(loadOrCreateSigningKey(f).key), tokenId: null }, meta);
    }
    const agentEnv = (a: number): Record<string, string> => ({
      KAFKA_BROKERS: k.broker,
      KAFKA_GROUP_PREFIX: group,
      LOG_LEVEL: 'info',
      HTTP_HOST: '127.0.0.1',
      AGENT_PORT: String(agentPorts[a]),
      AGENT_DEPLOYMENT: deployment,
      AGENT_NODE: String(a),
      AGENT_MAP_FILE: mapFile,
      AGENT_LISTEN_PORT: String(agentPorts[N + a]),
      AGENT_PEERS: peers,
      AGENT_EXPERT_BYTES: String(EXPERT_BYTES),
      AGENT_STATE_DIR: stateDir(a),
      AGENT_KEY_FILE: keyFiles[a],
      AGENT_SERVICE_PUBLIC_KEY: serviceKey,
      AGENT_TOKEN: tokens[a],
      AGENT_HEARTBEAT_MS: '1000',
      AGENT_CONTROL_ENDPOINTS: `127.0.0.1:${controlPort}`,
      // the last node waits for its step boundary before each swap: the window the agent kill aims at
      AGENT_FAULT_COMMIT_DELAY_MS: a === N - 1 ? String(COMMIT_DELAY_MS) : '0',
    });
    const startAgent = (a: number) => (agents[a] = new AppProcess(`agent-${a}`, 'agent', agentEnv(a)));
    for (let a = 0; a < N; a++) startAgent(a);
    // the agents as the API lists them (`GET /v1/deployments/{id}/agents`): the registry in Redis
    const agentsList = new AgentsUseCase(repo, redis);
    const listed = async () => (await agentsList.execute(deployment).catch(() => null))?.agents ?? [];
    const joined = async () => {
      const list = await listed();
      return list.length === N && list.every((a) => a.status === 'connected');
    };
    for (const deadline = Date.now() + 120_000; !(await joined()); await sleep(200)) {
      if (Date.now() > deadline) throw new Error('agents did not join the rollout service within 120 s');
    }
    log('rollout service up, agents joined');

    // Heat at a steady rate: a step of every rank's reports every 1/RATE s, queued; one sender
    // drains the queue in order, sending a chunk again until the broker acknowledges it.
    const rng = new Prng(20261206);
    const queue: OutgoingMessage[][] = [];
    let produced = 0;
    let tokensProduced = 0;
    let step = 0;
    let producing = true;
    const ticker = setInterval(() => {
      // production stops on an episode boundary: a last episode left short would stay open
      if (!producing && step % K === 0) return;
      const messages: OutgoingMessage[] = [];
      for (let rank = 0; rank < R; rank++) {
        const load = Array.from({ length: L }, () => Array.from({ length: S }, () => Math.floor(rng.next() * 50)));
        tokensProduced += load.flat().reduce((a, b) => a + b, 0);
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

    // Rollouts one after the other, each to the version not in service, until the faults are over.
    const reader = new DeploymentRolloutsReader(ds);
    const followed = reader.follow(deployment);
    const outcomes: Record<string, number> = {};
    let rolling = true;
    let settleBy = Infinity;
    let requested = 0;
    const roller = (async () => {
      while (rolling) {
        const view = await followed.refresh().catch(() => null);
        if (!view) {
          await sleep(500);
          continue;
        }
        const to = view.inService(L) === 2 ? 1 : 2;
        const rolloutId = randomUUID();
        try {
          await ds!.transaction((em) =>
            appendEvents(em, [{ stream: deploymentRolloutsStream(deployment), type: ROLLOUT_EVENTS.requested, payload: { rolloutId, mapVersion: to }, actor: 'bench', reason: 'chaos benchmark', correlationId: rolloutId }]),
          );
        } catch {
          await sleep(500); // Postgres down: ask again
          continue;
        }
        requested++;
        // waits for this rollout to end however long the faults make it take: one that never
        // ends is what stuck_deployments counts at the end
        for (;;) {
          const v = await followed.refresh().catch(() => null);
          const status = v?.finished.get(rolloutId)?.status ?? (v?.rejected.has(rolloutId) ? 'REJECTED' : null);
          if (status) {
            outcomes[status] = (outcomes[status] ?? 0) + 1;
            log(`rollout ${requested} (to v${to}) ended ${status}`);
            break;
          }
          if (!rolling && Date.now() > settleBy) return;
          await sleep(200);
        }
      }
    })();

    const stored = async () =>
      Number((await ds!.query(`SELECT coalesce(sum(events), 0)::bigint AS events FROM heat_episodes WHERE deployment_id = $1`, [deployment]).catch(() => [{ events: -1 }]))[0].events);

    // How long the collector took to store what was produced before each fault ended.
    const catchUps: { fault: string; at: number; seconds: number | null }[] = [];
    const watchCatchUp = (fault: string) => {
      const entry: { fault: string; at: number; seconds: number | null } = { fault, at: Math.round((Date.now() - t0) / 1000), seconds: null };
      catchUps.push(entry);
      const target = produced;
      const since = Date.now();
      void (async () => {
        while (Date.now() - since < 600_000) {
          if ((await stored()) >= target) {
            entry.seconds = (Date.now() - since) / 1000;
            return;
          }
          await sleep(250);
        }
      })();
    };

    // The layer an agent has not swapped yet although the other agents acked its commit.
    const commitAcked = (events: RolloutEvent[], agent: number, layer: number) =>
      events.some((e) => e.type === 'ack' && e.ack.agent === agent && e.ack.layer === layer && e.ack.phase === 'commit' && e.ack.ok);
    const midCommit = async (agent: number): Promise<number | null> => {
      const view = await followed.refresh().catch(() => null);
      const rid = view?.active();
      if (!rid) return null;
      const events = await reader.rolloutEvents(rid).catch(() => []);
      if (events.length === 0) return null;
      const s = replayRollout(events);
      const l = s.layers.find((x) => x.status === 'COMMITTING' && !commitAcked(events, agent, x.layer) && Array.from({ length: N }, (_, a) => a).every((a) => a === agent || commitAcked(events, a, x.layer)));
      return l?.layer ?? null;
    };

    const faults: Fault[] = [];
    const kafkaRestart: Fault = {
      name: 'broker_restarts',
      run: async () => {
        await stopKafka(k, log, 'SIGKILL');
        await startKafka(k, log);
      },
    };
    const agentKill: Fault = {
      name: 'agent_kills',
      run: async () => {
        const victim = N - 1;
        let layer: number | null = null;
        for (const deadline = Date.now() + 180_000; layer === null; await sleep(20)) {
          if (Date.now() > deadline) throw new Error('no commit in flight at the agent within 180 s: the kill could not be aimed mid-commit');
          layer = await midCommit(victim);
        }
        await agents[victim].stop('SIGKILL');
        const again = startAgent(victim);
        const deadline = Date.now() + 60_000;
        while (again.logged('agent state restored').length === 0 && again.logged('agent state: none saved yet').length === 0) {
          if (Date.now() > deadline || !again.running) throw new Error('the restarted agent did not restore its state within 60 s');
          await sleep(100);
        }
        log(`agent ${victim} SIGKILLed mid-commit of layer ${layer}; restarted, staged on restore: ${JSON.stringify(again.logged('agent state restored')[0]?.staged ?? null)}`);
      },
    };
    // Redis emptied: the agent registry (and the rest) is gone; the API's agent list must show
    // every agent connected again, written anew by the rollout service from their heartbeats
    const rebuildSeconds: number[] = [];
    const redisFlush: Fault = {
      name: 'redis_flushes',
      run: async () => {
        await redisServer.flushAll();
        const since = Date.now();
        const left = await redis!.hlen(agentRegistryKey(deployment)).catch(() => -1);
        for (;;) {
          if (await joined()) break;
          if (Date.now() - since > REGISTRY_REBUILD_BOUND_MS) {
            const list = await listed();
            throw new Error(`the agent registry was not rebuilt within ${REGISTRY_REBUILD_BOUND_MS / 1000} s of the Redis flush: the API lists ${list.map((a) => `node ${a.node} ${a.status}`).join(', ') || 'nothing'}`);
          }
          await sleep(100);
        }
        rebuildSeconds.push((Date.now() - since) / 1000);
        log(`Redis flushed (${left} registry entries right after); the API lists every agent connected again after ${rebuildSeconds[rebuildSeconds.length - 1].toFixed(1)} s`);
      },
    };
    const rounds = Math.max(PG_RESTARTS, BROKER_RESTARTS, REDIS_FLUSHES, AGENT_KILLS);
    for (let i = 0; i < rounds; i++) {
      if (i < PG_RESTARTS) faults.push({ name: 'pg_restarts', run: () => pg.restartImmediate() });
      if (i < BROKER_RESTARTS) faults.push(kafkaRestart);
      if (i < REDIS_FLUSHES) faults.push(redisFlush);
      if (i < AGENT_KILLS) faults.push(agentKill);
    }
    const counts: Record<FaultName, number> = { pg_restarts: 0, broker_restarts: 0, redis_flushes: 0, agent_kills: 0 };
    await sleep(GAP_MS);
    for (const f of faults) {
      log(`${f.name} #${counts[f.name] + 1} (stored so far ${await stored()} of ${produced}; rollouts requested ${requested})`);
      await f.run();
      counts[f.name]++;
      watchCatchUp(`${f.name} #${counts[f.name]}`);
      // a crashed service is restarted, as its supervisor would; counted
      if (!service!.running) {
        serviceRestarts++;
        log(`rollout service exited (${String(await service!.exited)}); restarting it`);
        startService();
      }
      await sleep(GAP_MS);
    }

    // Settling: heat stops on an episode boundary, no new rollout is requested, the last one ends.
    producing = false;
    while (step % K !== 0) await sleep(10);
    clearInterval(ticker);
    sending = false;
    await sender;
    const total = step;
    rolling = false;
    settleBy = Date.now() + 240_000;
    log(`produced ${produced} reports (${total} steps); waiting for the collector to store them and the last rollout to end`);
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline && (await stored()) < produced) await sleep(500);
    await roller;
    const events = await stored();
    let storedTokens = 0;
    const episodes = await new HeatWindowRepository(ds).episodes(deployment, 'decode', { limit: Math.ceil(total / K) + 8 });
    for (const e of episodes) for (const v of e.logicalLoad) storedTokens += v;

    // stuck: a rollout not finished, a request never taken, or the lock still held (after the
    // service's next polls had the time to let it go)
    const lockKey = `eplb:rollout-lock:${deployment}`;
    let view = (await reader.load(deployment)).view;
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(500)) {
      view = (await reader.load(deployment)).view;
      if (view.active() === null && view.pending().length === 0 && (await redis.exists(lockKey)) === 0) break;
    }
    const stuck = view.active() !== null || view.pending().length > 0 || (await redis.exists(lockKey)) === 1;
    if (stuck) log(`deployment stuck: active ${view.active()}, pending ${view.pending().length}, lock ${await redis.get(lockKey)}`);

    // mixed: what the ranks hold, from the agents' saved state once they stopped
    await Promise.all(agents.map((a) => a.stop('SIGTERM')));
    const committed = view.committedVersions(L);
    let mixed = 0;
    let offLog = 0;
    const held: number[][] = Array.from({ length: L }, () => []);
    for (let a = 0; a < N; a++) {
      const file = JSON.parse(readFileSync(join(stateDir(a), `agent-${deployment}-node${a}.json`), 'utf8')) as { backend: SimulatedBackendSnapshot };
      for (const ls of file.backend.layers) {
        for (const rs of ls.ranks) {
          const row = rs.slots.map((x) => x.expert);
          const version = [1, 2].find((v) => mapOf(v)[ls.layer].slice(rs.rank * S, rs.rank * S + S).every((e, j) => e === row[j])) ?? 0;
          held[ls.layer].push(version === ls.version ? version : -1);
        }
      }
    }
    for (let l = 0; l < L; l++) {
      const versions = new Set(held[l]);
      if (versions.size !== 1 || versions.has(-1) || versions.has(0) || held[l].length !== R) mixed++;
      else if (!versions.has(committed[l])) offLog++;
    }
    log(`layers held: ${held.map((h, l) => `L${l} v${[...new Set(h)].join('/')}`).join(', ')}; the log's committed: ${committed.join(',')}`);

    const serviceTroubles = service!.troubles();
    const result = {
      ...counts,
      produced,
      stored: events,
      lost: Math.max(0, produced - events),
      duplicated: Math.max(0, events - produced),
      mixed_layers: mixed,
      stuck_deployments: stuck ? 1 : 0,
      // every flush was followed by the registry rebuilt (a flush without it threw); null: no flush
      agents_rebuilt: counts.redis_flushes > 0 ? rebuildSeconds.length === counts.redis_flushes : null,
      layers_off_log: offLog,
      rollouts_requested: requested,
      rollouts_succeeded: outcomes.SUCCEEDED ?? 0,
      rollouts_other: requested - (outcomes.SUCCEEDED ?? 0),
      service_restarts: serviceRestarts,
      tokens_produced: tokensProduced,
      tokens_stored: storedTokens,
      send_retries: sendFailures,
    };
    const outcomeText = Object.entries(outcomes).map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
    writeSection(
      'Chaos: heat and rollouts through Postgres, broker and Redis faults and an agent kill (`npm run bench:chaos`)',
      [
        'Command: `npm run build && npm run bench:chaos` (bench/chaos.bench.ts; dedicated Postgres, Kafka and Redis on ports of their own; the collector in the bench process, the rollout service and two agents as processes of the built apps).',
        `Machine: ${machine()}; load average ${process.env.CHAOS_LOAD_BEFORE ?? '?'} before the run.`,
        `Heat: ${RATE} steps/s × ${R} ranks (${L} layers × ${S} slots), ${(GAP_MS / 1000).toFixed(0)} s between faults; Postgres restarted with \`pg_ctl -m immediate\`, the broker killed with SIGKILL and started again, Redis emptied with FLUSHALL, agent ${N - 1} SIGKILLed while it had not yet swapped a layer whose commit agent 0 had acked (it waits ${COMMIT_DELAY_MS} ms for its step boundary before each swap) and started again on its state directory. Rollouts one after the other (v1 ↔ v2, ${L} layers, ${N} agents × ${R / N} ranks) throughout.`,
        '',
        '| pg restarts | broker restarts | redis flushes | agent kills | produced | stored | lost | duplicated | tokens produced | tokens stored | sends retried | mixed layers | stuck deployments | rollouts (ended) | service restarts |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
        `| ${counts.pg_restarts} | ${counts.broker_restarts} | ${counts.redis_flushes} | ${counts.agent_kills} | ${produced} | ${events} | ${result.lost} | ${result.duplicated} | ${tokensProduced} | ${storedTokens} | ${sendFailures} | ${mixed} | ${result.stuck_deployments} | ${requested} (${outcomeText}) | ${serviceRestarts} |`,
        '',
        'Heat stored behind each fault: seconds from the fault\'s end until the collector had stored every report produced before it (the next fault follows after the gap, so a figure above the gap spans it).',
        '',
        `| ${catchUps.map((c) => c.fault).join(' | ')} |`,
        `|${catchUps.map(() => '---').join('|')}|`,
        `| ${catchUps.map((c) => (c.seconds === null ? 'not caught up' : c.seconds.toFixed(1))).join(' | ')} |`,
        '',
        `After the Redis flush the API listed every agent connected again after ${rebuildSeconds.map((x) => `${x.toFixed(1)} s`).join(', ') || '(no flush)'} (bound ${REGISTRY_REBUILD_BOUND_MS / 1000} s).`,
        '',
        `The rollout service logged ${serviceTroubles.length} warnings/errors; layers whose holdings agree with each other but not with the log's committed version: ${offLog}.`,
        '',
        JSON.stringify({ ...counts, produced, stored: events, lost: result.lost, duplicated: result.duplicated, mixed_layers: mixed, stuck_deployments: result.stuck_deployments, agents_rebuilt: result.agents_rebuilt }),
      ].join('\n'),
    );
    if (serviceTroubles.length > 0) log(`rollout service warnings/errors (last 20):\n  ${serviceTroubles.slice(-20).join('\n  ')}`);
    return result;
  } finally {
    await Promise.all(agents.map((a) => a.stop('SIGTERM').catch(() => undefined)));
    await (service as AppProcess | null)?.stop('SIGTERM').catch(() => undefined);
    await app?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    redis?.disconnect();
    await ds?.destroy().catch(() => undefined);
    await stopKafka(k, log, 'SIGKILL').catch(() => undefined);
    rmSync(k.dataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    await redisServer.destroy().catch(() => undefined);
    await pg.destroy();
  }
}

main().then(
  (result) => {
    const { pg_restarts, broker_restarts, redis_flushes, agent_kills, produced, stored, lost, duplicated, mixed_layers, stuck_deployments, agents_rebuilt } = result;
    process.stderr.write(`${JSON.stringify(result)}\n`);
    process.stdout.write(`${JSON.stringify({ pg_restarts, broker_restarts, redis_flushes, agent_kills, produced, stored, lost, duplicated, mixed_layers, stuck_deployments, agents_rebuilt })}\n`);
    if (lost !== 0 || duplicated !== 0 || mixed_layers !== 0 || stuck_deployments !== 0 || agents_rebuilt === false || result.tokens_produced !== result.tokens_stored) process.exitCode = 1;
  },
  (err: unknown) => {
    process.stderr.write(`bench:chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
