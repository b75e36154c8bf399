/**
 * `npm run bench:rollout`: control-plane overhead of a rollout per layer (prepare + commit) for a
 * DeepSeek-V3 shape — 64 ranks on 8 nodes, one agent process per node serving its 8 ranks (the
 * built dist/apps/agent, simulated backend), 58 layers, zero-cost transfers (16-byte experts) —
 * driven by the rollout service (dist/apps/rollout, its own process) over the direct control channel (Kafka with
 * ROLLOUT_BENCH_TRANSPORT=kafka), with Postgres (event log) and Redis (lock).
 *
 * Per layer: from the `decided` event that sends its prepares to the ack event that completes its
 * commit (both stamped by the service; from the event log). ROLLOUT_BENCH_WARMUP (default 1)
 * unmeasured rollouts, then ROLLOUT_BENCH_ROUNDS (default 3) measured ones, alternating v1↔v2,
 * 58 layers each. ROLLOUT_BENCH_PLAN=local: slots rotate in place instead of moving between
 * nodes. Last line: one JSON object.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { AgentRegistryEntry, agentRegistryKey, deploymentRolloutsStream, publicKeyText, ROLLOUT_EVENTS } from '@eplb/contracts';
import { loadOrCreateSigningKey } from '@eplb/messaging';
import { DeploymentShape, RolloutEvent, roundRobinMap } from '@eplb/domain';
import { AgentKeyRepository, ApiTokenRepository, appendEvents, createDataSource, DeploymentRepository, DeploymentRolloutsReader, readWholeStream } from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';
import { infraUp } from '../scripts/infra/up';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const L = 58, E = 256, R = 64, S = 5, N = 8;
const ROUNDS = Number(process.env.ROLLOUT_BENCH_ROUNDS ?? 3);
/** `direct` (default): agents keep a control connection to the service; `kafka`: commands and acks over Kafka only. */
const TRANSPORT = process.env.ROLLOUT_BENCH_TRANSPORT === 'kafka' ? 'kafka' : 'direct';
const PLAN = process.env.ROLLOUT_BENCH_PLAN === 'local' ? 'local' : 'remote';
/** Unmeasured rollouts first (JIT, first connections); 0 counts the first layer after the agents start. */
const WARMUP = Number(process.env.ROLLOUT_BENCH_WARMUP ?? 1);
const EXPERT_BYTES = 16;
const ROOT = join(__dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench:rollout] ${s}\n`);
const readyz = (port: number) =>
  fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
const pct = (xs: number[], q: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

async function main(): Promise<void> {
  const group = `bench-rollout-${Date.now()}`;
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', KAFKA_GROUP_PREFIX: group });
  await infraUp(config, log);
  const shape: DeploymentShape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N };
  const deployment = `bench-rollout-${randomUUID().slice(0, 8)}`;
  const v1 = roundRobinMap(shape);
  // remote (default): every slot of every layer takes what a rank of another node holds — local
  // slot j of rank r the same slot of rank r + 8c + 1, c = 1 + (j + l) mod 7, a permutation of
  // each slot column, so v2 is a valid map — and each agent fetches from five or six of the other
  // seven nodes; local: every rank's slots rotate in place (local copies only)
  const v2 =
    PLAN === 'local'
      ? v1.map((row) => row.map((_, p) => row[Math.floor(p / S) * S + ((p + 1) % S)]))
      : v1.map((row, l) => row.map((_, p) => row[((Math.floor(p / S) + 8 * (1 + ((p % S) + l) % 7) + 1) % R) * S + (p % S)]));

  // the rollout service as deployed: its own process (dist/apps/rollout)
  const [httpPort, controlPort] = [3990, 3991];
  const service = spawn(process.execPath, [...(process.env.SERVICE_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/sprof'] : []), join(ROOT, 'dist/apps/rollout/src/main.js')], {
    env: { ...process.env, LOG_LEVEL: 'warn', KAFKA_GROUP_PREFIX: group, ROLLOUT_PORT: String(httpPort), ROLLOUT_CONTROL_PORT: String(controlPort), ROLLOUT_TICK_MS: '20', ROLLOUT_POLL_MS: '100' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const ds = createDataSource(config.DATABASE_URL, 'eplb-bench-rollout');
  await ds.initialize();
  const redis = new Redis(config.REDIS_URL, { lazyConnect: false });
  const repo = new DeploymentRepository(ds);
  const meta = { actor: 'bench', reason: 'rollout benchmark', correlationId: deployment };
  await repo.create({ id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N, numGroups: null, episodeSteps: 16, intervalSteps: 1024, latenessSteps: 64, initialMap: v1, settings: { expertBytes: EXPERT_BYTES } }, meta);
  await ds.transaction((em) => repo.createMapVersion(em, deployment, 1, v2, meta, { source: 'bench' }));

  // each agent's token (role agent, scoped to its node), as an operator would issue it
  const tokens = await Promise.all(Array.from({ length: N }, async (_, a) => (await new ApiTokenRepository(ds).issue(`${deployment}-agent-${a}`, 'agent', meta, { deployment, node: a })).token));
  // one agent process per node, as deployed
  const dir = mkdtempSync(join(tmpdir(), 'eplb-rollout-bench-'));
  const mapFile = join(dir, 'map.json');
  writeFileSync(mapFile, JSON.stringify({ shape, version: 1, physicalToLogical: v1 }));
  const peers = Array.from({ length: N }, (_, a) => `${a}=127.0.0.1:${7910 + a}`).join(',');
  // each agent's signing key, enrolled as an operator would (on Kafka alone an agent has no hello to enrol it in)
  const keyFiles = Array.from({ length: N }, (_, a) => join(dir, `agent-${a}.key`));
  for (const [a, f] of keyFiles.entries()) {
    await new AgentKeyRepository(ds).enrol({ deployment, node: a, publicKey: publicKeyText(loadOrCreateSigningKey(f).key), tokenId: null }, meta);
  }
  const agents: ChildProcess[] = Array.from({ length: N }, (_, a) =>
    spawn(process.execPath, [...(process.env.AGENT_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/aprof'] : []), join(ROOT, 'dist/apps/agent/src/main.js')], {
      env: { ...process.env, LOG_LEVEL: 'warn', KAFKA_GROUP_PREFIX: group, AGENT_PORT: String(3910 + a), AGENT_DEPLOYMENT: deployment, AGENT_NODE: String(a), AGENT_MAP_FILE: mapFile, AGENT_LISTEN_PORT: String(7910 + a), AGENT_PEERS: peers, AGENT_EXPERT_BYTES: String(EXPERT_BYTES), AGENT_CONTROL_ENDPOINTS: TRANSPORT === 'direct' ? `127.0.0.1:${controlPort}` : '', AGENT_TOKEN: tokens[a], AGENT_KEY_FILE: keyFiles[a], AGENT_STATE_EPHEMERAL: 'true' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  try {
    const t0 = Date.now();
    // joined: every agent in the service's registry (connected on the control channel, unless Kafka only)
    const joined = async () => {
      const reg = await redis.hgetall(agentRegistryKey(deployment));
      return Array.from({ length: N }, (_, a) => reg[String(a)]).every((e) => e && (TRANSPORT === 'kafka' || (JSON.parse(e) as AgentRegistryEntry).connected));
    };
    while (!(await readyz(httpPort)) || !(await joined())) {
      if (Date.now() - t0 > 120_000) throw new Error('agents did not join within 120 s');
      await sleep(200);
    }
    await sleep(2000); // let the last group rebalances settle
    log(`8 agents joined in ${Date.now() - t0} ms (transport: ${TRANSPORT})`);

    const overheads: number[] = [];
    const prepares: number[] = [];
    const commits: number[] = [];
    const walls: number[] = [];
    const starts: number[] = [];
    let cold: { first: number; p50: number } | null = null;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const rolloutId = randomUUID();
      const mapVersion = round % 2 === 0 ? 2 : 1;
      const start = Date.now();
      await ds.transaction((em) => appendEvents(em, [{ stream: deploymentRolloutsStream(deployment), type: ROLLOUT_EVENTS.requested, payload: { rolloutId, mapVersion }, ...meta }]));
      // the deployment's rollouts, folded incrementally: the poll must cost the measured processes little
      const followed = new DeploymentRolloutsReader(ds).follow(deployment);
      for (;;) {
        const v = await followed.refresh();
        const f = v.finished.get(rolloutId);
        if (f) {
          if (f.status !== 'SUCCEEDED') throw new Error(`rollout ${rolloutId} ended ${f.status}: ${JSON.stringify(f.failure)}`);
          break;
        }
        if (v.rejected.has(rolloutId)) throw new Error(`rejected: ${v.rejected.get(rolloutId)}`);
        if (Date.now() - start > 300_000) throw new Error('rollout did not finish within 300 s');
        await sleep(100);
      }
      const wall = Date.now() - start;
      const events = (await readWholeStream(ds.manager, `rollout:${rolloutId}`)).map((e) => e.payload as unknown as RolloutEvent);
      // per layer: prepare decided → last prepare ack; commit decided → last commit ack (service clock)
      const t = new Map<number, { prepare?: number; prepared?: number; commit?: number; committed?: number }>();
      const at = (l: number) => t.get(l) ?? (t.set(l, {}), t.get(l)!);
      for (const e of events) {
        if (e.type === 'decided') {
          for (const c of e.commands) {
            if (c.kind === 'prepare' && at(c.layer).prepare === undefined) at(c.layer).prepare = e.at;
            if (c.kind === 'commit' && at(c.layer).commit === undefined) at(c.layer).commit = e.at;
          }
        }
        if (e.type === 'ack' && e.ack.ok && e.ack.phase === 'prepare') at(e.ack.layer).prepared = e.at;
        if (e.type === 'ack' && e.ack.ok && e.ack.phase === 'commit') at(e.ack.layer).committed = e.at;
      }
      const layers = [...t.values()].sort((a, b) => a.prepare! - b.prepare!);
      // starting: the plan computed and recorded (the created event), before the first prepare
      const created = events.find((e) => e.type === 'created')!;
      starts.push(layers[0].prepare! - created.at);
      const totals = layers.map((x) => x.committed! - x.prepare!);
      if (round < WARMUP) {
        if (round === 0) cold = { first: totals[0], p50: pct(totals, 0.5) };
        log(`warm-up round ${round + 1} (not measured): ${layers.length} layers in ${wall} ms; its first layer ${totals[0]} ms, p50 ${pct(totals, 0.5)} ms`);
        continue;
      }
      walls.push(wall);
      overheads.push(...totals);
      prepares.push(...layers.map((x) => x.prepared! - x.prepare!));
      commits.push(...layers.map((x) => x.committed! - x.commit!));
      log(`round ${round + 1 - WARMUP}: v${3 - mapVersion}→v${mapVersion}, ${layers.length} layers in ${wall} ms`);
    }
    const result = {
      ranks: R,
      agents: N,
      layers: L,
      layer_overhead_p50_ms: pct(overheads, 0.5),
      layer_overhead_p99_ms: pct(overheads, 0.99),
    };
    const mean = overheads.reduce((a, b) => a + b, 0) / overheads.length;
    const how =
      TRANSPORT === 'direct'
        ? 'two round trips on the direct control channel (service → 8 agents → service, TCP, one JSON line each way)'
        : 'two Kafka round trips (service → 8 agents → service; no control channel)';
    const plan =
      PLAN === 'local'
        ? 'every rank\'s slots rotate in place (local copies only, no peer transfer)'
        : 'every slot of every layer takes the expert a rank of another node holds (each agent fetches from five or six of the other seven nodes)';
    const env = [TRANSPORT === 'kafka' ? 'ROLLOUT_BENCH_TRANSPORT=kafka' : '', PLAN === 'local' ? 'ROLLOUT_BENCH_PLAN=local' : ''].filter(Boolean).join(' ');
    writeSection(
      `Rollout${env ? ` (${env})` : ''} (\`${env ? `${env} ` : ''}npm run bench:rollout\`)`,
      `Command: \`${env ? `${env} ` : ''}npm run bench:rollout\` (bench/rollout.bench.ts; ROLLOUT_BENCH_ROUNDS=${ROUNDS}, ROLLOUT_BENCH_WARMUP=${WARMUP}). Machine: ${machine()}.
${R} ranks on ${N} nodes, one agent process per node (dist/apps/agent, simulated backend, ${EXPERT_BYTES}-byte experts: transfers cost ~nothing),
${L} layers; the plan: ${plan}. Rollout service in its own process (dist/apps/rollout), Postgres, Redis (lock) and Kafka on the same 2 cores.
Per layer, from the service's own event stamps: prepare decided → last prepare ack → commit decided → last commit ack — ${how},
and one Postgres transaction per layer (the commit decision is written before it is sent, with the acks and the prepare decision before it).
${cold ? `${WARMUP === 1 ? 'A warm-up rollout' : `${WARMUP} warm-up rollouts`} ran first and ${WARMUP === 1 ? 'is' : 'are'} not counted: the first one's first layer after the agents started took ${cold.first} ms (JIT, first connections and queries), its p50 ${cold.p50} ms.` : 'No warm-up round: the first layer after the agents started is counted.'}

| layers measured | p50 ms | p99 ms | mean ms | max ms | prepare p50 / p99 ms | commit p50 / p99 ms | whole rollout (ms, per round) | start: plan computed and recorded (ms, per round) |
|---|---|---|---|---|---|---|---|---|
| ${overheads.length} | ${result.layer_overhead_p50_ms} | ${result.layer_overhead_p99_ms} | ${mean.toFixed(1)} | ${Math.max(...overheads)} | ${pct(prepares, 0.5)} / ${pct(prepares, 0.99)} | ${pct(commits, 0.5)} / ${pct(commits, 0.99)} | ${walls.join(', ')} | ${starts.slice(WARMUP).join(', ')} |

Target: p99 ≤ 10 ms.`,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const sent = (t: string) => Number(new RegExp(`eplb_rollout_commands_sent_total\\{transport="${t}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    log(`commands sent over the control channel ${sent('direct')}, over Kafka ${sent('kafka')}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const a of agents) a.kill('SIGTERM');
    service.kill('SIGTERM');
    redis.disconnect();
    await ds.destroy();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    log(e.stack ?? e.message);
    process.exit(1);
  },
);
