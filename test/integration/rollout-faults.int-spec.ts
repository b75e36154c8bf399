import { generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRolloutsStream, parseRolloutAck, ROLLOUT_EVENTS, ROLLOUT_MESSAGE_TTL_MS, ROLLOUT_SIGNATURE_HEADER, rolloutStream, signRolloutMessage, TOPICS } from '@eplb/contracts';
import { expectedChecksum } from '@eplb/device';
import { DeploymentShape, LayerHoldings, reduceRollout, replayRollout, RolloutAck, RolloutEvent, RolloutState } from '@eplb/domain';
import { KafkajsBus, MessageConsumer, MessageProducer, readSigningKey } from '@eplb/messaging';
import { ApiTokenRepository, appendEvents, createDataSource, DeploymentRepository, DeploymentRollouts, DeploymentRolloutsReader, readWholeStream, rolloutMachineEvents as machineEventsOf, StoredEvent } from '@eplb/persistence';
import { OPERATOR } from '../support/http';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';
import { AppProcess, freePorts, httpReady } from '../support/processes';

/**
 * Rollout faults on the real stack, every party a process of the built apps (`npm run build`
 * first): two rollout-service instances (dist/apps/rollout) sharing one deployment's Redis lock,
 * three agents (dist/apps/agent, simulated backends moving weights over loopback TCP, state in
 * AGENT_STATE_DIR), Kafka, Postgres. What every rank holds is read from the agents' own holdings
 * reports (eplb.rollout.acks.v1), taken after a graceful restart of every agent at the end, so
 * each test also proves the agents' persisted state is what the ranks hold.
 *   d. lock contention: one instance drives the deployment, the other never does;
 *   c. duplicate, stale and foreign-rank acks injected on the acks topic are ignored, no state change;
 *      unsigned ones, or signed by a token of another node, are dropped before the machine sees them;
 *   b. an agent SIGKILLed after acking a prepare, restarted on its state dir: the rollout completes;
 *   a. the driving instance SIGKILLed after some layers committed: the other takes over after the
 *      lock TTL, resumes from the event log and finishes; no layer mixed;
 *   e. an agent SIGKILLed mid-prepare: the prepare times out, the layer is aborted and the committed
 *      layers roll back once the node is back; the previous weights on every rank;
 *   f. an agent SIGKILLed mid-commit (the others swapped, it waits for its step boundary), restarted
 *      on its state dir: it swaps from its staged buffers, the rollout completes, no layer mixed.
 */
const LOCK_TTL_MS = 3000;
const BYTES = 1024;
const shape: DeploymentShape = { numLayers: 6, numExperts: 16, numRanks: 12, slotsPerRank: 2, numNodes: 3 };
const S = shape.slotsPerRank;
const P = shape.numRanks * S;
const current = Array.from({ length: shape.numLayers }, (_, l) => Array.from({ length: P }, (_, p) => (p + l) % shape.numExperts));
const target = Array.from({ length: shape.numLayers }, (_, l) => Array.from({ length: P }, (_, p) => (p * 5 + 3 * l) % shape.numExperts));
const mapOf = (version: number) => (version === 1 ? current : target);
const ranksOf = (node: number) => Array.from({ length: shape.numRanks / shape.numNodes }, (_, k) => node * (shape.numRanks / shape.numNodes) + k);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HoldingsReport {
  readonly deployment: string;
  readonly node: number;
  readonly layers: LayerHoldings[];
  readonly receivedAt: number;
}

describe('rollout faults: service and agent processes', () => {
  const config = testConfig();
  const group = config.KAFKA_GROUP_PREFIX;
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-rollout-faults' });
  const services: { proc: AppProcess; controlPort: number }[] = [];
  const agentProcs: AppProcess[] = [];
  const dirs: string[] = [];
  const reports: HoldingsReport[] = [];
  let ds: DataSource;
  let redis: Redis;
  let watcher: MessageConsumer;
  let producer: MessageProducer;
  const admin: Admin = new Kafka({ brokers: config.KAFKA_BROKERS, clientId: 'test-rollout-faults-admin', logLevel: logLevel.NOTHING }).admin();

  const lockKey = (dep: string) => `eplb:rollout-lock:${dep}`;

  function startService(label: string, httpPort: number, controlPort: number): AppProcess {
    const proc = new AppProcess(label, 'rollout', {
      DATABASE_URL: config.DATABASE_URL,
      KAFKA_GROUP_PREFIX: group,
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      HTTP_HOST: '127.0.0.1',
      MIGRATIONS_RUN_AT_START: 'false',
      ROLLOUT_PORT: String(httpPort),
      ROLLOUT_CONTROL_PORT: String(controlPort),
      ROLLOUT_LOCK_TTL_MS: String(LOCK_TTL_MS),
      ROLLOUT_TICK_MS: '20',
      ROLLOUT_POLL_MS: '100',
      ROLLOUT_RESEND_MS: '1000',
      ROLLOUT_PREPARE_TIMEOUT_MS: '10000',
      ROLLOUT_COMMIT_TIMEOUT_MS: '60000',
    });
    services.push({ proc, controlPort });
    return proc;
  }

  beforeAll(async () => {
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-rollout-faults');
    await ds.initialize();
    redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    // No API runs here to install the development operator token that agents in test mode dial
    // with (and that test c signs its injected acks with): install it as the API would, so this
    // file passes on a fresh database too, not only after a file that started the API.
    await new ApiTokenRepository(ds).ensureBootstrap(OPERATOR);
    producer = await bus.producer({ compression: 'none' });
    await admin.connect();
    // every holdings report the agents send, from now on
    let assigned = false;
    watcher = bus.consumer({
      groupId: `${group}-faults-watch`,
      topics: [TOPICS.rolloutAcks],
      fromBeginning: false,
      onAssignment: () => {
        assigned = true;
      },
    });
    await watcher.run(async (batch) => {
      for (const m of batch.messages) {
        const p = parseRolloutAck(m.value);
        if (p.ok && p.message.type === 'holdings') {
          reports.push({ deployment: p.message.deployment, node: p.message.node, layers: p.message.layers as LayerHoldings[], receivedAt: Date.now() });
        }
      }
    });
    await eventually(async () => assigned, 60_000);
    const ports = await freePorts(4);
    const a = startService('rollout-A', ports[0], ports[1]);
    const b = startService('rollout-B', ports[2], ports[3]);
    // ready = control channel listening, ack consumer in its group (reading from the log end), lock loop running, streams read
    await Promise.all([httpReady(`http://127.0.0.1:${ports[0]}/readyz`), httpReady(`http://127.0.0.1:${ports[2]}/readyz`)]);
    expect(a.running && b.running).toBe(true);
  });

  // a failed fault test says what the services logged: whether each still runs, and its last warnings and errors
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    for (const s of services) {
      const worrying = s.proc.logs.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal').slice(-15);
      console.log(`[faults] ${s.proc.label} (pid ${s.proc.pid}, ${s.proc.running ? 'running' : 'exited'}): ${worrying.length ? '' : 'no warnings'}`);
      for (const l of worrying) console.log(`  ${JSON.stringify(l)}`);
    }
  });

  afterAll(async () => {
    await Promise.all(agentProcs.map((p) => p.stop('SIGTERM')));
    await Promise.all(services.map((s) => s.proc.stop('SIGTERM')));
    await watcher?.close();
    await producer?.close();
    await admin.disconnect();
    await bus.close();
    redis?.disconnect();
    await ds?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // ---------------------------------------------------------------------------------------------
  // deployments, agents, rollouts

  interface Agents {
    readonly dep: string;
    readonly procs: AppProcess[];
    readonly env: Record<string, string>[];
    start(node: number): AppProcess;
  }

  /** Registers `dep` on `current` with version 2 = `target`, and starts its three agent processes. */
  async function deploymentWithAgents(dep: string, delays: number[] = [0, 0, 0], commitDelays: number[] = [0, 0, 0]): Promise<Agents> {
    const repo = new DeploymentRepository(ds);
    const meta = { actor: 'test', reason: 'rollout fault test', correlationId: dep };
    await repo.create(
      { id: dep, ...shape, numGroups: null, episodeSteps: 4, intervalSteps: 16, latenessSteps: 4, initialMap: current, settings: { expertBytes: BYTES } },
      meta,
    );
    await ds.transaction((em) => repo.createMapVersion(em, dep, 1, target, meta, { source: 'test' }));
    const dir = mkdtempSync(join(tmpdir(), 'eplb-rollout-faults-'));
    dirs.push(dir);
    const mapFile = join(dir, 'map.json');
    writeFileSync(mapFile, JSON.stringify({ shape, version: 1, physicalToLogical: current }));
    const ports = await freePorts(2 * shape.numNodes);
    const peers = Array.from({ length: shape.numNodes }, (_, a) => `${a}=127.0.0.1:${ports[shape.numNodes + a]}`).join(',');
    const env = Array.from({ length: shape.numNodes }, (_, a) => ({
      KAFKA_GROUP_PREFIX: group,
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      HTTP_HOST: '127.0.0.1',
      AGENT_PORT: String(ports[a]),
      AGENT_DEPLOYMENT: dep,
      AGENT_NODE: String(a),
      AGENT_MAP_FILE: mapFile,
      AGENT_LISTEN_PORT: String(ports[shape.numNodes + a]),
      AGENT_PEERS: peers,
      AGENT_EXPERT_BYTES: String(BYTES),
      AGENT_STATE_DIR: join(dir, `state-${a}`),
      AGENT_FAULT_PREPARE_DELAY_MS: String(delays[a]),
      AGENT_FAULT_COMMIT_DELAY_MS: String(commitDelays[a]),
      AGENT_CONTROL_ENDPOINTS: services.map((s) => `127.0.0.1:${s.controlPort}`).join(','),
    }));
    const agents: Agents = {
      dep,
      procs: [],
      env,
      start(node: number) {
        const p = new AppProcess(`agent-${dep}-${node}`, 'agent', env[node]);
        agentProcs.push(p);
        agents.procs[node] = p;
        return p;
      },
    };
    const t0 = Date.now();
    for (let a = 0; a < shape.numNodes; a++) agents.start(a);
    await Promise.all(agents.procs.map((p, a) => reportAfter(dep, a, t0, 90_000)));
    // each agent's command consumer is in its group: commands sent from now on are read
    const groups = agents.procs.map((_, a) => `${group}-agent-${dep}-${a}`);
    await eventually(async () => (await admin.describeGroups(groups)).groups.every((g) => g.state === 'Stable' && g.members.length === 1), 60_000, 100);
    return agents;
  }

  /** The first holdings report of `node` received after `since`. */
  const reportAfter = (dep: string, node: number, since: number, timeoutMs = 60_000): Promise<HoldingsReport> =>
    eventually(async () => reports.find((r) => r.deployment === dep && r.node === node && r.receivedAt > since), timeoutMs, 100);

  /** Stops every agent (SIGTERM), starts it again on its state dir, and returns what each then reports. */
  async function restartAgentsAndReport(agents: Agents): Promise<HoldingsReport[]> {
    await Promise.all(agents.procs.map((p) => p.stop('SIGTERM')));
    const t0 = Date.now();
    for (let a = 0; a < shape.numNodes; a++) agents.start(a);
    return Promise.all(agents.procs.map((_, a) => reportAfter(agents.dep, a, t0, 90_000)));
  }

  /** Every rank of every report holds, per layer, exactly the rows and weights of the version `versions[layer]`. */
  function expectHoldings(rs: HoldingsReport[], versions: number[], nodes = [0, 1, 2]): void {
    expect(rs.map((r) => r.node).sort()).toEqual(nodes);
    for (const r of rs) {
      expect(r.layers.map((l) => l.layer)).toEqual(versions.map((_, l) => l));
      for (const lh of r.layers) {
        expect(lh.version, `node ${r.node} layer ${lh.layer}`).toBe(versions[lh.layer]);
        expect(lh.ranks.map((x) => x.rank)).toEqual(ranksOf(r.node));
        for (const rh of lh.ranks) {
          const row = mapOf(versions[lh.layer])[lh.layer].slice(rh.rank * S, rh.rank * S + S);
          expect(rh.experts, `node ${r.node} layer ${lh.layer} rank ${rh.rank}`).toEqual(row);
          expect(rh.checksums).toEqual(row.map((e) => expectedChecksum(lh.layer, e, BYTES)));
        }
      }
    }
  }

  const readAll = (stream: string): Promise<StoredEvent[]> => readWholeStream(ds.manager, stream);
  const machineEvents = async (rid: string): Promise<RolloutEvent[]> => machineEventsOf(await readAll(rolloutStream(rid)));

  async function stateOf(rid: string): Promise<RolloutState | null> {
    const events = await machineEvents(rid);
    return events.length > 0 ? replayRollout(events) : null;
  }

  async function view(dep: string): Promise<DeploymentRollouts> {
    return (await new DeploymentRolloutsReader(ds).load(dep)).view;
  }

  /**
   * `window`: layers in flight at once (default: the service's). Scenarios that stop a process at
   * one point of one layer's prepare or commit ask for 1, so that point is reached with nothing
   * else in flight; the others run with the service's window.
   */
  async function request(dep: string, window?: number): Promise<string> {
    const rolloutId = randomUUID();
    await ds.transaction((em) =>
      appendEvents(em, [{ stream: deploymentRolloutsStream(dep), type: ROLLOUT_EVENTS.requested, payload: { rolloutId, mapVersion: 2, ...(window ? { window } : {}) }, actor: 'test', reason: 'fault test', correlationId: rolloutId }]),
    );
    return rolloutId;
  }

  async function control(dep: string, rolloutId: string, action: 'pause' | 'resume'): Promise<void> {
    await ds.transaction((em) =>
      appendEvents(em, [{ stream: deploymentRolloutsStream(dep), type: ROLLOUT_EVENTS.controlRequested, payload: { rolloutId, action }, actor: 'test', reason: `fault test: ${action}`, correlationId: rolloutId }]),
    );
  }

  /** What a rollout's log says, as an assertion's message: its failure, its layers, and its last events in short. */
  async function story(rid: string): Promise<string> {
    const events = machineEventsOf(await readAll(rolloutStream(rid)));
    const s = replayRollout(events);
    const short = (e: RolloutEvent): string => {
      switch (e.type) {
        case 'decided':
          return `decided [${e.commands.map((c) => ('layer' in c ? `${c.kind} L${c.layer}${'agent' in c ? ` a${c.agent}` : ''}` : c.kind)).join(', ')}]`;
        case 'ack':
          return `ack ${e.ack.phase} L${e.ack.layer} a${e.ack.agent} ${e.ack.ok ? 'ok' : `failed: ${e.ack.error}`}`;
        case 'analysis':
          return `analysis batch ${e.batch} ${e.passed ? 'passed' : 'failed'}${e.detail ? `: ${e.detail}` : ''}`;
        case 'operator':
          return `operator ${e.action}`;
        default:
          return e.type;
      }
    };
    const layers = s.layers.map((l) => `L${l.layer} ${l.status} v${l.version}`).join(', ');
    return `rollout ${rid}: failure ${JSON.stringify(s.failure ?? null)}; layers ${layers}; last events: ${events.slice(-10).map(short).join('; ')}`;
  }

  const finished = (dep: string, rid: string, timeoutMs = 120_000) =>
    eventually(async () => (await view(dep)).finished.get(rid), timeoutMs, 200);

  /** The instance id each service process logged when it took `dep`'s lock. */
  const lockTakers = (dep: string) =>
    services.flatMap((s) => s.proc.logged('rollout lock taken', { deployment: dep }).map((l) => ({ proc: s.proc, instance: String(l.instance) })));

  /** Layers of a finished rollout as the log says: status, version, verification. */
  const layerOutcome = (s: RolloutState) => s.layers.map((l) => [l.layer, l.status, l.version, l.verifyError]);

  // ---------------------------------------------------------------------------------------------

  it('d. lock contention: two instances, one deployment — one drives it, the other never does', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const dep = `faults-lock-${randomUUID().slice(0, 8)}`;
    const agents = await deploymentWithAgents(dep, [300, 300, 300]);
    const rid = await request(dep);
    const owners = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const o = await redis.get(lockKey(dep));
        if (o) owners.add(o);
        await sleep(50);
      }
    })();
    const done = await finished(dep, rid);
    sampling = false;
    await sampler;
    expect(done.status, await story(rid)).toBe('SUCCEEDED');
    expect(owners.size).toBe(1);
    const takers = lockTakers(dep);
    expect(takers).toHaveLength(1); // the other instance never took the lock
    expect(takers[0].instance).toBe([...owners][0]);
    const driver = takers[0].proc;
    for (const s of services) {
      expect(s.proc.logged('rollout started', { deployment: dep }).length, s.proc.label).toBe(s.proc === driver ? 1 : 0);
      expect(s.proc.logged('resuming rollout from the event log', { deployment: dep })).toHaveLength(0);
    }
    const stored = await readAll(rolloutStream(rid));
    expect(stored.filter((e) => e.type === 'rollout.restarted')).toHaveLength(0);
    const s = replayRollout(await machineEvents(rid));
    expect(layerOutcome(s)).toEqual(s.layers.map((l) => [l.layer, 'COMMITTED', 2, null]));
    // the lock is released once the deployment has no more work
    await eventually(async () => (await redis.get(lockKey(dep))) === null, 15_000, 100);
    expectHoldings(await restartAgentsAndReport(agents), Array(shape.numLayers).fill(2));
    await Promise.all(agents.procs.map((p) => p.stop()));
    console.log(`[faults] d. lock contention: ${Date.now() - t0} ms`);
  });

  it('c. duplicate, stale and foreign-rank acks injected on the acks topic are ignored and change nothing; unsigned or other-node ones are dropped', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const dep = `faults-acks-${randomUUID().slice(0, 8)}`;
    // agent 2 is slow: after agents 0 and 1 acked a prepare, the layer stays PREPARING for a while
    const agents = await deploymentWithAgents(dep, [0, 0, 1500]);
    const rid = await request(dep);
    const isAck = (e: RolloutEvent, agent: number, layer: number, phase: RolloutAck['phase']): e is Extract<RolloutEvent, { type: 'ack' }> =>
      e.type === 'ack' && e.ack.agent === agent && e.ack.layer === layer && e.ack.phase === phase && e.ack.ok;
    // the second layer in plan order: agent 0 acked its prepare, agent 2 not yet
    const { real, first, second } = await eventually(async () => {
      const events = await machineEvents(rid);
      if (events.length === 0) return null;
      const s = replayRollout(events);
      const [l0, l1] = s.layers;
      if (l1.status !== 'PREPARING') return null;
      const ack = events.find((e) => isAck(e, 0, l1.layer, 'prepare'));
      return ack && ack.type === 'ack' ? { real: ack.ack, first: l0.layer, second: l1.layer } : null;
    }, 60_000, 20);
    // signed as the agents sign: with the key each generated in its state directory and enrolled
    // on the control channel; answering the commands of the lock holder's fence generation
    const keyOf = (node: number) => readSigningKey(join(agents.env[node].AGENT_STATE_DIR, `agent-${dep}-node${node}.key`));
    const [{ generation }] = (await ds.query('SELECT generation::int AS generation FROM rollout_fences WHERE deployment_id = $1', [dep])) as { generation: number }[];
    const signed = (ack: RolloutAck, key: KeyObject | null = keyOf(ack.agent), node = ack.agent) => {
      const sentAt = Date.now();
      const value = JSON.stringify({ v: 1, type: 'ack', deployment: dep, node, ack, generation, sentAt, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS });
      const headers: Record<string, string> = key ? { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(key, value) } : {};
      return { key: dep, value, headers };
    };
    const stale: RolloutAck = { rolloutId: rid, layer: first, attempt: 1, agent: 0, ranks: ranksOf(0), phase: 'prepare', ok: true };
    const foreign: RolloutAck = { rolloutId: rid, layer: second, attempt: 1, agent: 0, ranks: ranksOf(1), phase: 'prepare', ok: true };
    // forgeries that would fail the rollout if the machine saw them: agent 2 (still staging) "failed"
    const forged: RolloutAck = { rolloutId: rid, layer: second, attempt: 1, agent: 2, ranks: ranksOf(2), phase: 'prepare', ok: false, error: 'forged' };
    // (an agent's first messages on Kafka, sent before its hello enrolled its key, are dropped too: count from here)
    const droppedBefore = services.map(({ proc }) => proc.logged('agent message on Kafka without a valid signature of its node\'s enrolled key dropped', { deployment: dep, node: 2 }).length);
    await producer.send(TOPICS.rolloutAcks, [
      signed(real),
      signed(stale),
      signed(foreign),
      signed(forged, null), // unsigned
      signed(forged, generateKeyPairSync('ed25519').privateKey), // signed by no enrolled key
      signed(forged, keyOf(0)), // signed by node 0's key, for node 2
      signed(forged, keyOf(0), 0), // node 0's envelope carrying an ack of agent 2
    ]);
    const done = await finished(dep, rid);
    expect(done.status, await story(rid)).toBe('SUCCEEDED');
    // both instances read every ack: each dropped the four forgeries before its machine saw them
    for (const [i, { proc }] of services.entries()) {
      expect(proc.logged('agent message on Kafka without a valid signature of its node\'s enrolled key dropped', { deployment: dep, node: 2 }).length - droppedBefore[i], proc.label).toBe(3);
      expect(proc.logged('ack on Kafka for another agent dropped', { deployment: dep, node: 0, agent: 2 }), proc.label).toHaveLength(1);
    }

    // replay the log: the replayed and the stale ack were not recorded at all (they add nothing);
    // the foreign-rank one was, listed as ignored (what it says about its sender is audit), and
    // changed nothing else
    const events = await machineEvents(rid);
    const s = replayRollout(events);
    const own = (e: RolloutEvent) => e.type === 'ack' && e.ack.ranks.join() === ranksOf(0).join();
    expect(events.filter((e) => isAck(e, 0, second, 'prepare') && own(e))).toHaveLength(1);
    expect(events.filter((e) => isAck(e, 0, first, 'prepare') && own(e))).toHaveLength(1);
    expect(s.ignored.filter((i) => i.why === 'duplicate' || i.why.startsWith('stale'))).toEqual([]);
    expect(s.ignored).toEqual(expect.arrayContaining([expect.objectContaining({ agent: 0, layer: second, attempt: 1, why: 'agent 0 acked for ranks [4,5,6,7], it serves [0,1,2,3]' })]));
    let before: RolloutState | null = null;
    let ignoredSeen = 0;
    const strip = (x: RolloutState) => ({ ...x, ignored: [], lastAt: 0 });
    for (const e of events) {
      const after = reduceRollout(before, e);
      if (before && after.ignored.length > before.ignored.length) {
        ignoredSeen++;
        expect(strip(after)).toEqual(strip(before));
      }
      before = after;
    }
    expect(ignoredSeen).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.type === 'ack' && e.ack.error === 'forged')).toEqual([]);
    expect(layerOutcome(s)).toEqual(s.layers.map((l) => [l.layer, 'COMMITTED', 2, null]));
    expectHoldings(await restartAgentsAndReport(agents), Array(shape.numLayers).fill(2));
    await Promise.all(agents.procs.map((p) => p.stop()));
    console.log(`[faults] c. injected acks: ${Date.now() - t0} ms; ignored: ${JSON.stringify(s.ignored.map((i) => i.why))}`);
  });

  it('b. an agent SIGKILLed after acking a prepare and restarted on its state dir: right holdings at once, the rollout completes', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const dep = `faults-agent-${randomUUID().slice(0, 8)}`;
    const agents = await deploymentWithAgents(dep, [800, 800, 800]);
    const rid = await request(dep, 1);
    // pause while the second layer prepares: it ends PREPARED (every agent acked), not committed
    const order = await eventually(async () => {
      const s = await stateOf(rid);
      return s && s.layers[1].status === 'PREPARING' ? s.layers.map((l) => l.layer) : null;
    }, 60_000, 20);
    await control(dep, rid, 'pause');
    const paused = await eventually(async () => {
      const s = await stateOf(rid);
      return s && s.status === 'PAUSED' && s.layers[1].status === 'PREPARED' ? s : null;
    }, 30_000, 100);
    expect(paused.layers[0].status).toBe('COMMITTED');
    const [committed, prepared] = order;

    // kill -9 agent 1, after it acked the prepare of `prepared`; start it again on the same state dir
    await agents.procs[1].stop('SIGKILL');
    const restartAt = Date.now();
    const again = agents.start(1);
    const first = await reportAfter(dep, 1, restartAt, 90_000);
    const versions = Array.from({ length: shape.numLayers }, (_, l) => (l === committed ? 2 : 1));
    // what agent 1's ranks hold right after the restart: the committed layer on 2, the rest on 1
    expectHoldings([first], versions, [1]);
    const restored = await eventually(async () => again.logged('agent state restored')[0], 30_000, 100);
    expect(restored.staged).toEqual([prepared]);
    // let its consumer rejoin the group (a second report follows the assignment) before resuming
    await reportAfter(dep, 1, first.receivedAt, 40_000).catch(() => undefined);
    await control(dep, rid, 'resume');
    const done = await finished(dep, rid);
    expect(done.status, await story(rid)).toBe('SUCCEEDED');
    const events = await machineEvents(rid);
    const s = replayRollout(events);
    expect(layerOutcome(s)).toEqual(s.layers.map((l) => [l.layer, 'COMMITTED', 2, null]));
    // agent 1 committed the layer it had prepared before the kill, from its restored staged buffers
    const commitAck = events.find((e) => e.type === 'ack' && e.ack.agent === 1 && e.ack.layer === prepared && e.ack.phase === 'commit' && e.ack.ok);
    expect(commitAck).toBeDefined();
    expect(s.ignored.filter((i) => /refused/.test(i.why))).toEqual([]);
    expectHoldings(await restartAgentsAndReport(agents), Array(shape.numLayers).fill(2));
    await Promise.all(agents.procs.map((p) => p.stop()));
    console.log(`[faults] b. agent kill -9: ${Date.now() - t0} ms`);
  });

  it('a. the driving instance SIGKILLed after some layers committed: the other takes over after the lock TTL and finishes; no layer mixed', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const dep = `faults-service-${randomUUID().slice(0, 8)}`;
    const agents = await deploymentWithAgents(dep, [600, 600, 600]);
    const rid = await request(dep);
    await eventually(async () => {
      const v = await view(dep);
      return v.committed.size >= 2;
    }, 90_000, 50);
    const owner = await redis.get(lockKey(dep));
    const victim = lockTakers(dep).find((t) => t.instance === owner);
    expect(victim, `lock owner ${owner}`).toBeDefined();
    const survivor = services.find((s) => s.proc !== victim!.proc)!.proc;
    const before = await stateOf(rid);
    await victim!.proc.stop('SIGKILL');
    const killedAt = Date.now();
    const committedAtKill = before!.layers.filter((l) => l.status === 'COMMITTED').map((l) => l.layer);
    const inFlight = before!.active === null ? null : before!.layers[before!.active].layer;

    const done = await finished(dep, rid, 150_000);
    expect(done.status, await story(rid)).toBe('SUCCEEDED');
    const stored = await readAll(rolloutStream(rid));
    const restarted = stored.filter((e) => e.type === 'rollout.restarted');
    expect(restarted).toHaveLength(1);
    const survivorId = lockTakers(dep).find((t) => t.proc === survivor)?.instance;
    expect(survivorId).toBeDefined();
    expect(restarted[0].reason).toBe(`instance ${survivorId} took over`);
    const takeoverAt = (restarted[0].payload as { at: number }).at;
    // not before the victim's lock expired (renewed every TTL/3: at least 2/3 of the TTL after the kill)
    expect(takeoverAt - killedAt).toBeGreaterThanOrEqual(Math.floor((2 * LOCK_TTL_MS) / 3) - 100);
    const s = replayRollout(stored.filter((e) => e.type.startsWith('rollout.')).map((e) => e.payload as unknown as RolloutEvent));
    expect(layerOutcome(s)).toEqual(s.layers.map((l) => [l.layer, 'COMMITTED', 2, null]));
    expect((await view(dep)).committedVersions(shape.numLayers)).toEqual(Array(shape.numLayers).fill(2));
    // every rank of every layer on version 2, weights included: no layer left mixed
    expectHoldings(await restartAgentsAndReport(agents), Array(shape.numLayers).fill(2));
    await Promise.all(agents.procs.map((p) => p.stop()));
    console.log(
      `[faults] a. service kill -9: ${Date.now() - t0} ms; killed ${victim!.proc.label} with layers [${committedAtKill.join(',')}] committed, layer ${inFlight} in flight; takeover ${takeoverAt - killedAt} ms after the kill`,
    );
  });

  it('e. an agent SIGKILLed mid-prepare: the prepare times out, the layer is aborted, committed layers roll back once the node is back; v1 weights on every rank', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const dep = `faults-midprep-${randomUUID().slice(0, 8)}`;
    // agent 1 takes 2 s to stage a layer; agents 0 and 2 stage at once
    const agents = await deploymentWithAgents(dep, [0, 2000, 0]);
    const rid = await request(dep, 1);
    const acked = (events: RolloutEvent[], agent: number, layer: number) =>
      events.some((e) => e.type === 'ack' && e.ack.agent === agent && e.ack.layer === layer && e.ack.phase === 'prepare' && e.ack.ok);
    // the first layer committed, the second prepared by agents 0 and 2: agent 1 is staging it now
    const { committed, inFlight } = await eventually(async () => {
      const events = await machineEvents(rid);
      if (events.length === 0) return null;
      const s = replayRollout(events);
      const [l0, l1] = s.layers;
      return l0.status === 'COMMITTED' && l1.status === 'PREPARING' && acked(events, 0, l1.layer) && acked(events, 2, l1.layer) && !acked(events, 1, l1.layer)
        ? { committed: l0.layer, inFlight: l1.layer }
        : null;
    }, 90_000, 20);
    await agents.procs[1].stop('SIGKILL');
    const killedAt = Date.now();
    // no ack will come: the service gives the prepare up after its timeout and fails the rollout
    const failed = await eventually(async () => {
      const s = await stateOf(rid);
      return s?.failure ? s : null;
    }, 60_000, 100);
    expect(failed.failure!.reason).toBe(`layer ${inFlight}: prepare timed out (agents 1 did not ack)`);
    const failedAfter = Date.now() - killedAt;
    // the node comes back on its state dir (as its supervisor would restart it): the abort of the
    // layer and the rollback of the committed one reach it too
    agents.start(1);
    const done = await finished(dep, rid, 120_000);
    expect(done.status, await story(rid)).toBe('ROLLED_BACK');
    const s = replayRollout(await machineEvents(rid));
    const outcome = new Map(layerOutcome(s).map((o) => [o[0], o.slice(1)]));
    expect(outcome.get(committed)).toEqual(['ROLLED_BACK', 1, null]);
    expect(outcome.get(inFlight)).toEqual(['ABORTED', 1, null]);
    for (const l of s.layers) if (l.layer !== committed && l.layer !== inFlight) expect(l.status).toBe('PENDING');
    expect((await view(dep)).committedVersions(shape.numLayers)).toEqual(Array(shape.numLayers).fill(1));
    // the previous map and weights on every rank, read back after a restart of every agent
    expectHoldings(await restartAgentsAndReport(agents), Array(shape.numLayers).fill(1));
    await Promise.all(agents.procs.map((p) => p.stop()));
    console.log(`[faults] e. agent kill -9 mid-prepare: ${Date.now() - t0} ms; layer ${inFlight} failed ${failedAfter} ms after the kill`);
  });

  it('f. an agent SIGKILLed mid-commit, restarted on its state dir: it swaps from its staged buffers, the rollout completes; no layer mixed', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const dep = `faults-midcommit-${randomUUID().slice(0, 8)}`;
    // agent 1 waits 5 s for its step boundary before each swap; the others swap at once
    const agents = await deploymentWithAgents(dep, [0, 0, 0], [0, 5000, 0]);
    const rid = await request(dep, 1);
    const commitAcked = (events: RolloutEvent[], agent: number, layer: number) =>
      events.some((e) => e.type === 'ack' && e.ack.agent === agent && e.ack.layer === layer && e.ack.phase === 'commit' && e.ack.ok);
    // the first layer: agents 0 and 2 swapped and acked its commit; agent 1 is waiting to swap
    const { layer } = await eventually(async () => {
      const events = await machineEvents(rid);
      if (events.length === 0) return null;
      const l0 = replayRollout(events).layers[0];
      return l0.status === 'COMMITTING' && commitAcked(events, 0, l0.layer) && commitAcked(events, 2, l0.layer) && !commitAcked(events, 1, l0.layer) ? { layer: l0.layer } : null;
    }, 90_000, 20).catch(async (e: Error) => {
      throw new Error(`${e.message}; ${await story(rid)}`);
    });
    await agents.procs[1].stop('SIGKILL');
    // back on its state dir (as its supervisor would restart it), swapping at once from now on
    agents.env[1].AGENT_FAULT_COMMIT_DELAY_MS = '0';
    const again = agents.start(1);
    const restored = await eventually(async () => again.logged('agent state restored')[0], 60_000, 100);
    expect(restored.staged).toEqual([layer]); // killed before its swap: staged, not swapped
    const done = await finished(dep, rid, 150_000);
    expect(done.status, await story(rid)).toBe('SUCCEEDED');
    const events = await machineEvents(rid);
    expect(commitAcked(events, 1, layer)).toBe(true);
    const s = replayRollout(events);
    expect(layerOutcome(s)).toEqual(s.layers.map((l) => [l.layer, 'COMMITTED', 2, null]));
    expect((await view(dep)).committedVersions(shape.numLayers)).toEqual(Array(shape.numLayers).fill(2));
    expectHoldings(await restartAgentsAndReport(agents), Array(shape.numLayers).fill(2));
    await Promise.all(agents.procs.map((p) => p.stop()));
    console.log(`[faults] f. agent kill -9 mid-commit: ${Date.now() - t0} ms; layer ${layer}`);
  });
});
