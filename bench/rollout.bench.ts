/**
 * `npm run bench:rollout`: what a rollout costs beyond its transfers, for a DeepSeek-V3 shape — 64
 * ranks on 8 nodes, one agent process per node serving its 8 ranks (the built dist/apps/agent,
 * simulated backend), 58 layers — driven by the rollout service (dist/apps/rollout, its own
 * process, ROLLOUT_WINDOW layers in flight) over the direct control channel (Kafka with
 * ROLLOUT_BENCH_TRANSPORT=kafka), with Postgres (event log) and Redis (lock). One run measures:
 * 1. zero-cost transfers (16-byte experts): the control plane's time per layer, from the service's
 *    own event stamps in the log — unmeasured rollouts until the processes are warm (at least
 *    ROLLOUT_BENCH_WARMUP, default the floor's warm-up in layers; then until two rollouts in a row bring the processes' CPU per
 *    layer no more than a tenth below its lowest so far; at most ROLLOUT_BENCH_WARMUP_MAX, default 12), then
 *    ROLLOUT_BENCH_ROUNDS (default 3) measured ones, alternating v1↔v2;
 * 2. a realistic rollout: experts of ROLLOUT_BENCH_EXPERT_BYTES (default 32 KiB — what this
 *    machine moves between eight processes beside everything else) under a cap of
 *    ROLLOUT_BENCH_BYTES_PER_SECOND per agent (default 8 MiB/s), its total time against the time
 *    its transfers alone need at that cap (one unmeasured rollout first);
 * 3. the floor (bench/rollout-floor.bench.ts): the same messages between bare processes, measured
 *    between part 1's measured rounds — its processes started once before part 1's warm-up, warmed
 *    again after it by one rollout's worth of layers, then before each measured round a block of
 *    FLOOR_LAYERS / ROUNDS layers (without, then with the peer fetches) — so the floor and the
 *    rollouts it is compared with are equally warm and see the same load.
 * ROLLOUT_BENCH_PLAN=local: slots rotate in place instead of moving between nodes (both parts).
 * ROLLOUT_BENCH_WINDOW: the service's ROLLOUT_WINDOW (default: the service's own default).
 * ROLLOUT_BENCH_AGENT_NODE_OPTIONS, ROLLOUT_BENCH_SERVICE_NODE_OPTIONS: node options for the agent
 * processes and the service, space-separated, after the apps' own (nodeFlagsOf; a later value of a
 * V8 flag wins): e.g. `--trace-deopt` or `--min-semi-space-size=1`, what their runtime does to a
 * layer's time.
 * ROLLOUT_BENCH_ZERO_ONLY=1: parts 1 and 3 alone (for iterating on the control plane; nothing written to
 * bench/RESULTS.md). Part 1 also reports the CPU the service and the agents used per layer.
 * Last line: one JSON object.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AgentRegistryEntry, agentRegistryKey, deploymentRolloutsStream, publicKeyText, ROLLOUT_EVENTS } from '@eplb/contracts';
import { loadOrCreateSigningKey } from '@eplb/messaging';
import { DeploymentShape, RolloutEvent, RolloutPlan, roundRobinMap } from '@eplb/domain';
import { AgentKeyRepository, ApiTokenRepository, appendEvents, createDataSource, DeploymentRepository, DeploymentRolloutsReader, readWholeStream } from '@eplb/persistence';
import { loadConfig, nodeFlagsOf } from '@eplb/platform';
import { infraUp } from '../scripts/infra/up';
import { machine } from './lib/machine';
import { nodeOptionsFromEnv } from './lib/node-options';
import { firstExited, terminate } from './lib/terminate';
import { QuietWait, waitForQuiet } from './lib/machine-quiet';
import { processCpuMs } from './lib/process-cpu';
import { processWakeups } from './lib/process-wakeups';
import { writeSection } from './lib/results';
import { addFloorSamples, FLOOR_APPLICATION, FLOOR_LAYERS, FLOOR_WARMUP, floorDescription, floorFigures, FloorProcesses, FloorSamples, noFloorSamples, startFloor } from './rollout-floor.bench';

const L = 58, E = 256, R = 64, S = 5, N = 8;
const ROUNDS = Number(process.env.ROLLOUT_BENCH_ROUNDS ?? 3);
/** `direct` (default): agents keep a control connection to the service; `kafka`: commands and acks over Kafka only. */
const TRANSPORT = process.env.ROLLOUT_BENCH_TRANSPORT === 'kafka' ? 'kafka' : 'direct';
const PLAN = process.env.ROLLOUT_BENCH_PLAN === 'local' ? 'local' : 'remote';
/**
 * Unmeasured rollouts first (JIT, first connections); 0 counts the first layer after the agents start. By default as
 * many layers as the floor's processes are warmed with (FLOOR_WARMUP at their start and again before the rounds): with
 * fewer, the agents were still compiling their control-session and channel code in the measured rounds (their V8
 * spent 140 ms of the rounds compiling after six to eight warm-up rollouts, 0.8 ms per layer).
 */
const WARMUP = Number(process.env.ROLLOUT_BENCH_WARMUP ?? Math.ceil((2 * FLOOR_WARMUP) / L));
/**
 * At most this many: a long-running service and its agents are measured, not processes still
 * compiling their hot paths — V8 optimises the service's and agents' code over the first five to
 * seven rollouts here, and until then a layer costs up to 2.5 times the CPU, falling unevenly.
 */
const WARMUP_MAX = Math.max(WARMUP, Number(process.env.ROLLOUT_BENCH_WARMUP_MAX ?? 12));
/** Node options the agents start with (V8 experiments on the agents alone). */
const AGENT_NODE_OPTIONS = nodeOptionsFromEnv('ROLLOUT_BENCH_AGENT_NODE_OPTIONS');
/** Node options the rollout service starts with. */
const SERVICE_NODE_OPTIONS = nodeOptionsFromEnv('ROLLOUT_BENCH_SERVICE_NODE_OPTIONS');
/** A rollout whose CPU per layer is below this share of the lowest before it is still warming up. */
const STILL_WARMING = 0.9;
/** Warm once this many rollouts in a row were not still warming up. */
const WARM_AFTER = 2;
const WINDOW = process.env.ROLLOUT_BENCH_WINDOW;
const EXPERT_BYTES = 16;
const REAL_EXPERT_BYTES = Number(process.env.ROLLOUT_BENCH_EXPERT_BYTES ?? 32 * 1024);
const CAP = Number(process.env.ROLLOUT_BENCH_BYTES_PER_SECOND ?? 8 * 1024 * 1024);
/** Unmeasured realistic rollouts before the measured one (the new agents' first large transfers). */
const REAL_WARMUP = Number(process.env.ROLLOUT_BENCH_REAL_WARMUP ?? 1);
const ZERO_ONLY = process.env.ROLLOUT_BENCH_ZERO_ONLY === '1';
/** The floor's block before measured round k: FLOOR_LAYERS over the rounds, as evenly as whole layers go. */
const floorBlockLayers = (k: number) => Math.floor(((k + 1) * FLOOR_LAYERS) / ROUNDS) - Math.floor((k * FLOOR_LAYERS) / ROUNDS);
const ROOT = join(__dirname, '..');
const JOIN_TIMEOUT_MS = 300_000;
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
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(b % (1024 * 1024) === 0 ? 0 : 2)} MiB`;

const shape: DeploymentShape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N };
const v1 = roundRobinMap(shape);
// remote (default): every slot of every layer takes what a rank of another node holds — local
// slot j of rank r the same slot of rank r + 8c + 1, c = 1 + (j + l) mod 7, a permutation of
// each slot column, so v2 is a valid map — and each agent fetches from five or six of the other
// seven nodes; local: every rank's slots rotate in place (local copies only)
const v2 =
  PLAN === 'local'
    ? v1.map((row) => row.map((_, p) => row[Math.floor(p / S) * S + ((p + 1) % S)]))
    : v1.map((row, l) => row.map((_, p) => row[((Math.floor(p / S) + 8 * (1 + ((p % S) + l) % 7) + 1) % R) * S + (p % S)]));

/** Per layer, from the service's stamps: prepare decided, last prepare ack, commit decided, last commit ack. */
interface LayerTimes {
  prepare: number;
  prepared: number;
  commit: number;
  committed: number;
}

function layerTimes(events: RolloutEvent[]): LayerTimes[] {
  const t = new Map<number, Partial<LayerTimes>>();
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
  return ([...t.values()] as LayerTimes[]).sort((a, b) => a.committed - b.committed);
}

/**
 * A layer's cost to the rollout: the time from the previous layer's last commit ack to its own
 * (the first layer: from its prepare decided) — what each layer adds to the rollout's duration.
 * With a window the next layers' prepares overlap the earlier commits, so this is less than one
 * layer's prepare-to-commit latency; with window 1 they are the same plus the gap between layers.
 */
const perLayer = (ls: LayerTimes[]): number[] => ls.map((x, k) => x.committed - (k === 0 ? x.prepare : ls[k - 1].committed));

/** A deployment with its 8 agent processes, as deployed (tokens, enrolled keys, peers). */
async function startDeployment(ds: DataSource, redis: Redis, group: string, controlPort: number, httpPort: number, expertBytes: number, portBase: number) {
  const deployment = `bench-rollout-${randomUUID().slice(0, 8)}`;
  const repo = new DeploymentRepository(ds);
  const meta = { actor: 'bench', reason: 'rollout benchmark', correlationId: deployment };
  await repo.create({ id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N, numGroups: null, episodeSteps: 16, intervalSteps: 1024, latenessSteps: 64, initialMap: v1, settings: { expertBytes } }, meta);
  await ds.transaction((em) => repo.createMapVersion(em, deployment, 1, v2, meta, { source: 'bench' }));
  // each agent's token (role agent, scoped to its node), as an operator would issue it
  const tokens = await Promise.all(Array.from({ length: N }, async (_, a) => (await new ApiTokenRepository(ds).issue(`${deployment}-agent-${a}`, 'agent', meta, { deployment, node: a })).token));
  const dir = mkdtempSync(join(tmpdir(), 'eplb-rollout-bench-'));
  const mapFile = join(dir, 'map.json');
  writeFileSync(mapFile, JSON.stringify({ shape, version: 1, physicalToLogical: v1 }));
  const peers = Array.from({ length: N }, (_, a) => `${a}=127.0.0.1:${portBase + 4000 + a}`).join(',');
  // each agent's signing key, enrolled as an operator would (on Kafka alone an agent has no hello to enrol it in)
  const keyFiles = Array.from({ length: N }, (_, a) => join(dir, `agent-${a}.key`));
  for (const [a, f] of keyFiles.entries()) {
    await new AgentKeyRepository(ds).enrol({ deployment, node: a, publicKey: publicKeyText(loadOrCreateSigningKey(f).key), tokenId: null }, meta);
  }
  const agents: ChildProcess[] = Array.from({ length: N }, (_, a) =>
    spawn(process.execPath, [...(process.env.AGENT_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/aprof'] : []), ...nodeFlagsOf('agent'), ...AGENT_NODE_OPTIONS, join(ROOT, 'dist/apps/agent/src/main.js')], {
      env: { ...process.env, LOG_LEVEL: 'warn', KAFKA_GROUP_PREFIX: group, AGENT_PORT: String(portBase + a), AGENT_DEPLOYMENT: deployment, AGENT_NODE: String(a), AGENT_MAP_FILE: mapFile, AGENT_LISTEN_PORT: String(portBase + 4000 + a), AGENT_PEERS: peers, AGENT_EXPERT_BYTES: String(expertBytes), AGENT_CONTROL_ENDPOINTS: TRANSPORT === 'direct' ? `127.0.0.1:${controlPort}` : '', AGENT_TOKEN: tokens[a], AGENT_KEY_FILE: keyFiles[a], AGENT_STATE_EPHEMERAL: 'true' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const t0 = Date.now();
  // joined: every agent in the service's registry (connected on the control channel, unless Kafka only)
  const joined = async () => {
    const reg = await redis.hgetall(agentRegistryKey(deployment));
    return Array.from({ length: N }, (_, a) => reg[String(a)]).every((e) => e && (TRANSPORT === 'kafka' || (JSON.parse(e) as AgentRegistryEntry).connected));
  };
  const stop = () => terminate(agents);
  // (a busy shared machine may take minutes to start eight processes)
  while (!(await readyz(httpPort)) || !(await joined())) {
    const exited = firstExited(agents, 'agent');
    if (exited || Date.now() - t0 > JOIN_TIMEOUT_MS) {
      await stop();
      throw new Error(exited ? `${exited} exited before the agents joined (its stderr above says why)` : `agents did not join within ${JOIN_TIMEOUT_MS / 1000} s`);
    }
    await sleep(200);
  }
  await sleep(2000); // let the last group rebalances settle
  log(`8 agents of ${deployment} (${expertBytes}-byte experts) joined in ${Date.now() - t0} ms (transport: ${TRANSPORT})`);
  return { deployment, meta, stop, agentPids: agents.map((a) => a.pid) };
}

/** Requests one rollout and waits for it to succeed; its machine events and the wall time from request to finished. */
async function rollout(ds: DataSource, d: { deployment: string; meta: { actor: string; reason: string; correlationId: string } }, mapVersion: number, bytesPerSecond?: number, window?: number) {
  const rolloutId = randomUUID();
  const start = Date.now();
  await ds.transaction((em) => appendEvents(em, [{ stream: deploymentRolloutsStream(d.deployment), type: ROLLOUT_EVENTS.requested, payload: { rolloutId, mapVersion, ...(bytesPerSecond ? { bytesPerSecond } : {}), ...(window ? { window } : {}) }, ...d.meta }]));
  // the deployment's rollouts, folded incrementally: the poll must cost the measured processes little
  const followed = new DeploymentRolloutsReader(ds).follow(d.deployment);
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
  return { events, wall };
}

async function main(): Promise<void> {
  const group = `bench-rollout-${Date.now()}`;
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', KAFKA_GROUP_PREFIX: group });
  await infraUp(config, log);
  const loadBefore = loadavg();

  // the rollout service as deployed: its own process (dist/apps/rollout)
  const [httpPort, controlPort] = [3990, 3991];
  const service = spawn(process.execPath, [...(process.env.SERVICE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SERVICE_PROF === '1' ? '/tmp/sprof' : process.env.SERVICE_PROF}`] : []), ...nodeFlagsOf('rollout'), ...SERVICE_NODE_OPTIONS, join(ROOT, 'dist/apps/rollout/src/main.js')], {
    env: { ...process.env, LOG_LEVEL: 'warn', KAFKA_GROUP_PREFIX: group, ROLLOUT_PORT: String(httpPort), ROLLOUT_CONTROL_PORT: String(controlPort), ROLLOUT_TICK_MS: '20', ROLLOUT_POLL_MS: '100', ...(WINDOW ? { ROLLOUT_WINDOW: WINDOW } : {}) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const ds = createDataSource(config.DATABASE_URL, 'eplb-bench-rollout');
  await ds.initialize();
  const redis = new Redis(config.REDIS_URL, { lazyConnect: false });
  const stops: (() => Promise<void>)[] = [];
  try {
    // 1. zero-cost transfers: the control plane alone
    const zero = await startDeployment(ds, redis, group, controlPort, httpPort, EXPERT_BYTES, 3910);
    stops.push(zero.stop);
    const perLayers: number[] = [];
    const latencies: number[] = [];
    const prepares: number[] = [];
    const commits: number[] = [];
    const walls: number[] = [];
    const spans: number[] = [];
    const starts: number[] = [];
    let window = 1;
    let cold: { first: number; p50: number } | null = null;
    // CPU per layer (service and agents) of each warm-up rollout
    const warmCpu: number[] = [];
    let warmups = 0;
    // CPU over the measured rounds (their planning included), per measured layer
    const cpuNow = () => ({ service: processCpuMs(service.pid), agents: zero.agentPids.reduce<number>((sum, pid) => sum + processCpuMs(pid), 0) });
    // the Postgres backends serving the service (not the bench's own reads): they run on the same cores, and the per-layer
    // write-ahead costs CPU there too (parsing the jsonb, compressing what passes the TOAST threshold); client backends and
    // their parallel workers only: an autovacuum worker of this database is nobody's request
    const postgresPids = async (): Promise<number[]> =>
      ((await ds.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type IN ('client backend', 'parallel worker') AND application_name NOT IN ('eplb-bench-rollout', $1)`, [FLOOR_APPLICATION])) as { pid: number }[]).map((r) => r.pid);
    // The service's pool opens a backend when all are busy and closes it after 10 s idle, so the backends are sampled through each
    // measured round: one there at its start counts from then, one opened later from its start, one closed at its last sample.
    // (Not between the rounds: the floor's blocks run there.)
    const postgresCpu = new Map<number, { from: number; last: number }>();
    let postgresRoundsMs = 0;
    const samplePostgres = async (atStart: boolean) => {
      for (const pid of await postgresPids()) {
        const now = processCpuMs(pid);
        const seen = postgresCpu.get(pid);
        if (!seen) postgresCpu.set(pid, { from: atStart ? now : 0, last: now });
        else if (now > 0) seen.last = now;
      }
    };
    const postgresCpuMs = () => [...postgresCpu.values()].reduce((sum, b) => sum + b.last - b.from, 0);
    const endPostgresRound = async () => {
      await samplePostgres(false);
      postgresRoundsMs += postgresCpuMs();
      postgresCpu.clear();
    };
    // wake-ups of the processes' main threads, likewise (each costs the event loop's machinery however small the message)
    const wakeupsNow = () => ({ service: processWakeups(service.pid), agents: zero.agentPids.reduce<number>((sum, pid) => sum + processWakeups(pid), 0) });
    let idleWakeups = { service: 0, agents: 0 };
    // what the processes use idle (Kafka clients, timers), so the figure per layer can leave out what load adds by stretching the layers
    let idle = { service: 0, agents: 0 };
    const warming = (): boolean => {
      const n = warmCpu.length;
      if (n < WARMUP) return true;
      if (WARMUP === 0 || n >= WARMUP_MAX) return false;
      // the rollouts since the last that was clearly the cheapest so far
      let low = Infinity, since = 0;
      for (const c of warmCpu) {
        if (c < STILL_WARMING * low) since = 0;
        else since++;
        low = Math.min(low, c);
      }
      return since < WARM_AFTER;
    };
    let round = 0;
    const oneRollout = async () => {
      const mapVersion = round++ % 2 === 0 ? 2 : 1;
      const { events, wall } = await rollout(ds, zero, mapVersion);
      const ls = layerTimes(events);
      const created = events.find((e) => e.type === 'created')!;
      if (created.type === 'created') window = created.options.window ?? 1;
      const first = Math.min(...ls.map((x) => x.prepare));
      // starting: the plan computed and recorded (the created event), before the first prepare
      starts.push(first - created.at);
      return { mapVersion, wall, ls, first, per: perLayer(ls) };
    };
    // 3. the floor's processes, started once (each with its own unmeasured layers) and measured in blocks before each measured
    // round, while the deployment waits: the floor and the rounds see the machine's load of the same moments. They start
    // before the warm-up rollouts: processes that wait ~20 s (the floor's own warm-up) are partly cold again after it (measured:
    // the rounds after such a wait cost 20-24 ms of CPU per layer against 10-17 in the last warm-up rollouts before it), and
    // the rounds would be measured while they warm up again.
    const floors: FloorProcesses[] = [];
    stops.push(async () => {
      await Promise.all(floors.map((f) => f.stop()));
    });
    const controlFloorProcesses = await startFloor(config.DATABASE_URL, false);
    floors.push(controlFloorProcesses);
    const floorProcesses = await startFloor(config.DATABASE_URL);
    floors.push(floorProcesses);
    while (warming()) {
      const from = cpuNow();
      const { wall, ls, per } = await oneRollout();
      const to = cpuNow();
      warmCpu.push((to.service - from.service + to.agents - from.agents) / ls.length);
      if (round === 1) cold = { first: per[0], p50: pct(per, 0.5) };
      log(`warm-up round ${round} (not measured): ${ls.length} layers in ${wall} ms; its first layer ${per[0]} ms, p50 ${pct(per, 0.5)} ms; CPU per layer ${warmCpu[round - 1].toFixed(1)} ms`);
    }
    warmups = warmCpu.length;
    // what the warm processes use idle
    {
      const [at, from, wFrom] = [Date.now(), cpuNow(), wakeupsNow()];
      await sleep(3000);
      const [to, wTo] = [cpuNow(), wakeupsNow()];
      idle = { service: (to.service - from.service) / (Date.now() - at), agents: (to.agents - from.agents) / (Date.now() - at) };
      idleWakeups = { service: (wTo.service - wFrom.service) / (Date.now() - at), agents: (wTo.agents - wFrom.agents) / (Date.now() - at) };
    }
    // the floor's processes waited through the warm-up rollouts as the deployment waited through the floor's start: they are
    // warmed up again as at their start, unmeasured (after 58 layers their blocks still fall, 6.3 → 5.1 → 4.7 ms)
    for (const f of floors) await f.measure(FLOOR_WARMUP);
    // CPU, wake-ups and time of the measured rounds alone (the floor's blocks between them left out)
    const cpuRounds = { service: 0, agents: 0 };
    const wakeupsRounds = { service: 0, agents: 0 };
    let measuredMs = 0;
    // the measured rounds on the monotonic clock the processes' --cpu-prof profiles are stamped with
    const measuredMono: string[] = [];
    const floorSamples = noFloorSamples();
    const controlFloorSamples = noFloorSamples();
    // per measured round: its per-layer p50, and the p50 of the floor's block (and the control-only one's) just before it
    const roundP50s: number[] = [];
    const floorBlockP50s: number[] = [];
    const controlFloorBlockP50s: number[] = [];
    // every measured block starts on a quiet machine: what the block before it left running (the other side's garbage
    // collection, mostly) is not charged to it
    const quietWaits: QuietWait[] = [];
    const quiet = async () => {
      quietWaits.push(await waitForQuiet());
    };
    const floorBlock = async (f: FloorProcesses, layers: number, into: FloorSamples): Promise<number> => {
      await quiet();
      const s = await f.measure(layers);
      addFloorSamples(into, s);
      return floorFigures(s).p50;
    };
    for (let measured = 0; measured < ROUNDS; measured++) {
      const blockLayers = floorBlockLayers(measured);
      controlFloorBlockP50s.push(await floorBlock(controlFloorProcesses, blockLayers, controlFloorSamples));
      floorBlockP50s.push(await floorBlock(floorProcesses, blockLayers, floorSamples));
      await quiet();
      const [at, from, wFrom, monoFrom] = [Date.now(), cpuNow(), wakeupsNow(), process.hrtime.bigint() / 1000n];
      await samplePostgres(true);
      // the sample in flight when the round ends is awaited before the round's figures are closed: finishing after that, it
      // would see the service's backends as opened mid-round and count their whole lives into the next round
      let sampling: Promise<void> = Promise.resolve();
      const postgresSampler = setInterval(() => {
        sampling = sampling.then(() => samplePostgres(false)).catch(() => undefined);
      }, 250);
      const { mapVersion, wall, ls, first, per } = await oneRollout();
      const [to, wTo] = [cpuNow(), wakeupsNow()];
      measuredMs += Date.now() - at;
      measuredMono.push(`${monoFrom}–${process.hrtime.bigint() / 1000n}`);
      clearInterval(postgresSampler);
      await sampling;
      await endPostgresRound();
      cpuRounds.service += to.service - from.service;
      cpuRounds.agents += to.agents - from.agents;
      wakeupsRounds.service += wTo.service - wFrom.service;
      wakeupsRounds.agents += wTo.agents - wFrom.agents;
      walls.push(wall);
      spans.push(ls[ls.length - 1].committed - first);
      perLayers.push(...per);
      latencies.push(...ls.map((x) => x.committed - x.prepare));
      prepares.push(...ls.map((x) => x.prepared - x.prepare));
      commits.push(...ls.map((x) => x.committed - x.commit));
      roundP50s.push(pct(per, 0.5));
      log(
        `round ${measured + 1}: v${3 - mapVersion}→v${mapVersion}, ${ls.length} layers in ${wall} ms (first prepare → last commit ack ${spans[spans.length - 1]} ms); per layer p50 ${roundP50s[measured]} ms; the floor's block before it (${blockLayers} layers) p50 ${floorBlockP50s[measured]} ms, without the peer fetches ${controlFloorBlockP50s[measured]} ms`,
      );
    }
    for (const f of floors.splice(0)) await f.stop();
    const floor = floorFigures(floorSamples);
    const controlFloor = floorFigures(controlFloorSamples);
    const layerOverheadP50 = pct(perLayers, 0.5);
    // the goal's ratio: the rounds' per-layer p50 over the floor's, both over the same stretch of the run
    const floorRatio = Number((layerOverheadP50 / floor.p50).toFixed(2));
    log(`floor (${floor.layers} layers in ${ROUNDS} blocks between the rounds): p50 ${floor.p50} ms, p99 ${floor.p99} ms; without the peer fetches: p50 ${controlFloor.p50} ms, p99 ${controlFloor.p99} ms; per layer p50 / floor p50 = ${floorRatio}; CPU per layer of the floor's 8 processes ${floor.processesCpuMsPerLayer} ms (without the peer fetches ${controlFloor.processesCpuMsPerLayer} ms)`);
    const postgresMs = postgresRoundsMs / perLayers.length;
    log(`measured rounds, monotonic µs: ${measuredMono.join(', ')}`);
    log(`waits for a quiet machine before each block (floor without peer fetches, floor, round): ${quietWaits.map((w) => `${w.waitedMs} ms${w.quiet ? '' : ' (still busy)'}`).join(', ')}`);
    const cpu = { service: cpuRounds.service / perLayers.length, agents: cpuRounds.agents / perLayers.length };
    const busy = { service: cpu.service - (idle.service * measuredMs) / perLayers.length, agents: cpu.agents - (idle.agents * measuredMs) / perLayers.length };
    // per layer, the service's and one agent's (the agents' mean), beyond what they wake idle over the same time
    const wakeups = {
      service: (wakeupsRounds.service - idleWakeups.service * measuredMs) / perLayers.length,
      agent: (wakeupsRounds.agents - idleWakeups.agents * measuredMs) / perLayers.length / zero.agentPids.length,
    };
    log(`wake-ups per layer beyond idle (main threads' voluntary context switches): service ${wakeups.service.toFixed(1)}, one agent ${wakeups.agent.toFixed(1)} (idle: service ${(idleWakeups.service * 1000).toFixed(0)}/s, 8 agents ${(idleWakeups.agents * 1000).toFixed(0)}/s)`);
    log(`zero-cost: ${perLayers.length} layers, per layer p50 ${layerOverheadP50} ms p99 ${pct(perLayers, 0.99)} ms; commit p50 ${pct(commits, 0.5)} ms; CPU per layer: service ${cpu.service.toFixed(1)} ms, 8 agents ${cpu.agents.toFixed(1)} ms, the service's Postgres backends ${postgresMs.toFixed(1)} ms; beyond idle (service ${(idle.service * 100).toFixed(1)}%, agents ${(idle.agents * 100).toFixed(1)}% of a core): service ${busy.service.toFixed(1)} ms, agents ${busy.agents.toFixed(1)} ms (load ${loadavg().map((x) => x.toFixed(1)).join(' / ')})`);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const sent = (t: string) => Number(new RegExp(`eplb_rollout_commands_sent_total\\{transport="${t}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    log(`commands sent over the control channel ${sent('direct')}, over Kafka ${sent('kafka')}`);
    await zero.stop();
    // what both outputs add to their JSON: the rounds beside the floor's blocks
    const interleaved = { round_layer_overhead_p50_ms: roundP50s, round_floor_p50_ms: floorBlockP50s, round_floor_control_only_p50_ms: controlFloorBlockP50s, layer_overhead_to_floor_p50: floorRatio };
    if (ZERO_ONLY) {
      process.stdout.write(`${JSON.stringify({ layer_overhead_p50_ms: layerOverheadP50, layer_overhead_p99_ms: pct(perLayers, 0.99), floor_p50_ms: floor.p50, floor_control_only_p50_ms: controlFloor.p50, cpu_service_ms_per_layer: Number(cpu.service.toFixed(1)), cpu_agents_ms_per_layer: Number(cpu.agents.toFixed(1)), cpu_postgres_ms_per_layer: Number(postgresMs.toFixed(1)), rollout_wall_p50_ms: pct(walls, 0.5), busy_cpu_service_ms_per_layer: Number(busy.service.toFixed(1)), busy_cpu_agents_ms_per_layer: Number(busy.agents.toFixed(1)), wakeups_service_per_layer: Number(wakeups.service.toFixed(1)), wakeups_agent_per_layer: Number(wakeups.agent.toFixed(1)), warmup_rollouts: warmups, floor_p99_ms: floor.p99, floor_cpu_processes_ms_per_layer: floor.processesCpuMsPerLayer, floor_control_only_cpu_processes_ms_per_layer: controlFloor.processesCpuMsPerLayer, ...interleaved })}\n`);
      return;
    }

    // 2. a realistic rollout: weights that take time to move, under the rollout's cap
    const real = await startDeployment(ds, redis, group, controlPort, httpPort, REAL_EXPERT_BYTES, 3930);
    stops.push(real.stop);
    const warm = REAL_WARMUP > 0 ? await rollout(ds, real, 2, CAP) : null;
    if (warm) log(`realistic warm-up rollout (not measured): ${warm.wall} ms`);
    const measured = await rollout(ds, real, warm ? 1 : 2, CAP);
    const ls = layerTimes(measured.events);
    const created = measured.events.find((e) => e.type === 'created') as RolloutEvent & { type: 'created' };
    const plan: RolloutPlan = created.plan;
    // what the transfers alone need: the busiest agent's inflow at the cap (each agent has its own)
    const inflow = Array.from({ length: N }, (_, a) => plan.layers.reduce((sum, l) => sum + l.forward[a].bytesIn, 0));
    const transferBound = Math.max(...inflow) / CAP;
    const first = Math.min(...ls.map((x) => x.prepare));
    const rolloutS = (ls[ls.length - 1].committed - first) / 1000;
    const realPer = perLayer(ls);
    log(`realistic rollout: ${ls.length} layers, ${mib(Math.max(...inflow))} into the busiest agent at ${mib(CAP)}/s: ${rolloutS.toFixed(2)} s (transfers alone ${transferBound.toFixed(2)} s); request to finished ${measured.wall} ms`);
    // the same rollout one layer after the other (window 1), for comparison: back again
    const serial = layerTimes((await rollout(ds, real, warm ? 2 : 1, CAP, 1)).events);
    const serialS = (serial[serial.length - 1].committed - Math.min(...serial.map((x) => x.prepare))) / 1000;
    log(`the same with window 1: ${serialS.toFixed(2)} s`);
    await real.stop();

    const loadAfter = loadavg();

    const result = {
      ranks: R,
      agents: N,
      layers: L,
      layer_overhead_p50_ms: layerOverheadP50,
      layer_overhead_p99_ms: pct(perLayers, 0.99),
      floor_p50_ms: floor.p50,
      floor_p99_ms: floor.p99,
      floor_control_only_p50_ms: controlFloor.p50,
      floor_control_only_p99_ms: controlFloor.p99,
      floor_cpu_processes_ms_per_layer: floor.processesCpuMsPerLayer,
      cpu_service_ms_per_layer: Number(cpu.service.toFixed(1)),
      cpu_agents_ms_per_layer: Number(cpu.agents.toFixed(1)),
      cpu_postgres_ms_per_layer: Number(postgresMs.toFixed(1)),
      wakeups_service_per_layer: Number(wakeups.service.toFixed(1)),
      wakeups_agent_per_layer: Number(wakeups.agent.toFixed(1)),
      warmup_rollouts: warmups,
      rollout_s: Number(rolloutS.toFixed(2)),
      transfer_bound_s: Number(transferBound.toFixed(2)),
      ...interleaved,
    };
    const how =
      TRANSPORT === 'direct'
        ? 'two round trips on the direct control channel (service → 8 agents → service, TCP, one JSON line each way)'
        : 'two Kafka round trips (service → 8 agents → service; no control channel)';
    const planText =
      PLAN === 'local'
        ? "every rank's slots rotate in place (local copies only, no peer transfer)"
        : 'every slot of every layer takes the expert a rank of another node holds (each agent fetches from five or six of the other seven nodes)';
    const env = [TRANSPORT === 'kafka' ? 'ROLLOUT_BENCH_TRANSPORT=kafka' : '', PLAN === 'local' ? 'ROLLOUT_BENCH_PLAN=local' : '', WINDOW ? `ROLLOUT_BENCH_WINDOW=${WINDOW}` : ''].filter(Boolean).join(' ');
    const floorBlocks = [...new Set(Array.from({ length: ROUNDS }, (_, k) => floorBlockLayers(k)))].join(' or ');
    const met = (ok: boolean) => (ok ? '**met**' : '**not met**');
    const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
    writeSection(
      `Rollout${env ? ` (${env})` : ''} (\`${env ? `${env} ` : ''}npm run bench:rollout\`)`,
      `Command: \`${env ? `${env} ` : ''}npm run bench:rollout\` (bench/rollout.bench.ts; ROLLOUT_BENCH_ROUNDS=${ROUNDS}, ROLLOUT_BENCH_WARMUP=${WARMUP}, ROLLOUT_BENCH_WARMUP_MAX=${WARMUP_MAX}, ROLLOUT_BENCH_EXPERT_BYTES=${REAL_EXPERT_BYTES}, ROLLOUT_BENCH_BYTES_PER_SECOND=${CAP}, ROLLOUT_BENCH_REAL_WARMUP=${REAL_WARMUP}). Machine: ${machine()}; load average (1 / 5 / 15 min) ${load(loadBefore)} at the start, ${load(loadAfter)} at the end (the machine is shared).
${R} ranks on ${N} nodes, one agent process per node (dist/apps/agent, simulated backend, started with the agent's V8 flags: \`${nodeFlagsOf('agent').join(' ')}\`), ${L} layers; the plan: ${planText}. Rollout service in its own process (dist/apps/rollout), window ${window} (layers in flight at once; commits one at a time, in order), Postgres, Redis (lock) and Kafka on the same 2 cores.
Control: ${how}; the commit decisions are written to Postgres before they are sent, with the acks and prepare decisions before them.

**Zero-cost transfers** (${EXPERT_BYTES}-byte experts). Per layer, from the service's own event stamps (whole ms: the service stamps each event with its clock's \`Date.now()\`; the events' \`occurred_at\` is finer but is the start of the transaction that records them, shared by every row it writes, and acks wait in memory for the next decision's write, so it times the writes, not the layers): *per layer* = the time it adds to the rollout (previous layer's last commit ack → its own; the first layer: from its prepare decided) — the JSON's \`layer_overhead_*\`; *latency* = its prepare decided → its last commit ack (with a window it includes waiting for the layers before it); prepare = prepare decided → last prepare ack; commit = commit decided → last commit ack (the stall at commit).
${cold ? `${warmups === 1 ? 'A warm-up rollout' : `${warmups} warm-up rollouts`} ran first and ${warmups === 1 ? 'is' : 'are'} not counted (at least ${WARMUP}, then until ${WARM_AFTER} in a row brought the CPU per layer, service and agents, no more than ${Math.round((1 - STILL_WARMING) * 100)}% below its lowest so far, at most ${WARMUP_MAX}: ${warmCpu.map((x) => x.toFixed(1)).join(', ')} ms — V8 compiling the processes' hot paths): the first one's first layer after the agents started took ${cold.first} ms (JIT, first connections and queries), its p50 ${cold.p50} ms.` : 'No warm-up round: the first layer after the agents started is counted.'}

| layers measured | per layer p50 / p99 ms | latency p50 / p99 ms | prepare p50 / p99 ms | commit p50 / p99 ms | first prepare → last commit ack (ms, per round) | request → finished (ms, per round) | start: plan computed and recorded (ms, per round) |
|---|---|---|---|---|---|---|---|
| ${perLayers.length} | ${pct(perLayers, 0.5)} / ${pct(perLayers, 0.99)} | ${pct(latencies, 0.5)} / ${pct(latencies, 0.99)} | ${pct(prepares, 0.5)} / ${pct(prepares, 0.99)} | ${pct(commits, 0.5)} / ${pct(commits, 0.99)} | ${spans.join(', ')} | ${walls.join(', ')} | ${starts.slice(warmups).join(', ')} |

CPU per measured layer (user + system from /proc over the measured rounds alone, their planning included, the floor's blocks between them left out): the service ${cpu.service.toFixed(1)} ms, the 8 agents together ${cpu.agents.toFixed(1)} ms; beyond what they use idle (measured for 3 s before: the service ${(idle.service * 100).toFixed(1)}%, the agents together ${(idle.agents * 100).toFixed(1)}% of a core, times the measured rounds' duration) ${busy.service.toFixed(1)} ms and ${busy.agents.toFixed(1)} ms. Wake-ups per measured layer (the main thread's voluntary context switches, beyond the idle rate of ${(idleWakeups.service * 1000).toFixed(0)}/s for the service and ${(idleWakeups.agents * 1000 / N).toFixed(0)}/s per agent): the service ${wakeups.service.toFixed(1)}, one agent ${wakeups.agent.toFixed(1)}.

**Floor, measured between the measured rounds** (bench/rollout-floor.bench.ts): ${floorDescription(floor.layers)}
Its processes (one set with the peer fetches, one without) were started once before the warm-up rollouts, each with its own unmeasured layers, and ran ${FLOOR_WARMUP} unmeasured layers each again after them (processes left waiting through the other side's warm-up are partly cold again); then before each measured round a block of ${floorBlocks} layers without the peer fetches and one with them ran while the zero-cost deployment waited (up, idle), so the floor and the rounds met the machine's load of the same moments. The table pools the blocks; per round below.

| layers | p50 ms | p99 ms | prepare p50 / p99 | write p50 / p99 | commit p50 / p99 | CPU per layer, the 8 processes together (ms) |
|---|---|---|---|---|---|---|
| ${floor.layers} | ${floor.p50} | ${floor.p99} | ${floor.prepare.join(' / ')} | ${floor.write.join(' / ')} | ${floor.commit.join(' / ')} | ${floor.processesCpuMsPerLayer} |

| measured round | per layer p50 ms | the floor's block before it: p50 ms | ratio | the block without the peer fetches: p50 ms |
|---|---|---|---|---|
${roundP50s.map((p, k) => `| ${k + 1} | ${p} | ${floorBlockP50s[k]} | ${(p / floorBlockP50s[k]).toFixed(2)} | ${controlFloorBlockP50s[k]} |`).join('\n')}
| all | ${layerOverheadP50} | ${floor.p50} | ${floorRatio.toFixed(2)} | ${controlFloor.p50} |

The same floor without the peer fetches (each process acks a prepare at once: the control messages and the write alone), its blocks pooled: p50 ${controlFloor.p50} ms, p99 ${controlFloor.p99} ms (prepare ${controlFloor.prepare.join(' / ')}, write ${controlFloor.write.join(' / ')}, commit ${controlFloor.commit.join(' / ')}).

**Realistic rollout**: ${REAL_EXPERT_BYTES / 1024} KiB experts (DeepSeek-V3's are ~44 MB; scaled down to what this machine moves between eight processes beside everything else), cap ${mib(CAP)}/s per agent (the request's \`bytesPerSecond\`: what each agent takes in, shared by the layers it stages at once). The plan moves ${mib(plan.bytes)} in all; the busiest agent takes in ${mib(Math.max(...inflow))}, which at the cap alone needs ${transferBound.toFixed(2)} s (*transfer bound*). ${warm ? `One unmeasured rollout first (${(warm.wall / 1000).toFixed(2)} s request → finished); measured: the next one back` : 'No unmeasured rollout first (ROLLOUT_BENCH_REAL_WARMUP=0): measured, the first one of these agents'}, with the service's window (${created.options.window ?? 1}).

| layers | rollout (first prepare → last commit ack) s | transfer bound s | ratio | per layer p50 / p99 ms | request → finished s (planning and the 100 ms poll included) |
|---|---|---|---|---|---|
| ${ls.length} | ${rolloutS.toFixed(2)} | ${transferBound.toFixed(2)} | ${(rolloutS / transferBound).toFixed(3)} | ${pct(realPer, 0.5)} / ${pct(realPer, 0.99)} | ${(measured.wall / 1000).toFixed(2)} |

For comparison, the same rollout with window 1 (the request's \`window\`: one layer after the other, as before the window) right after: ${serialS.toFixed(2)} s, ${(serialS / transferBound).toFixed(3)} × the transfer bound.

Goals: rollout ≤ 1.1 × transfer bound — ${met(rolloutS <= 1.1 * transferBound)} (${(rolloutS / transferBound).toFixed(3)}×); per-layer overhead p50 ≤ 2 × the floor's p50 — ${met(result.layer_overhead_p50_ms <= 2 * floor.p50)} (${result.layer_overhead_p50_ms} ms vs 2 × ${floor.p50} ms, ${floorRatio.toFixed(2)} ×; per round ${roundP50s.map((p, k) => (p / floorBlockP50s[k]).toFixed(2)).join(', ')} ×; against the floor without peer fetches ${(result.layer_overhead_p50_ms / controlFloor.p50).toFixed(1)} ×).`,
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.all(stops.map((stop) => stop()));
    await terminate([service]);
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
