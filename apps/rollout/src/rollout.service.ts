import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import {
  AgentRegistryEntry,
  agentRegistryKey,
  DEPLOYMENT_ROLLOUTS_PREFIX,
  ROLLOUT_EVENTS,
  RolloutCommandV1,
  TOPICS,
  deploymentRolloutsStream,
  parseAgentHello,
  parseRolloutAck,
  RolloutAckV1,
  AGENT_SIGNATURE_HEADER,
  signedWithOneOf,
  signForEach,
  SERVICE_SIGNATURES_HEADER,
  rolloutStream,
  topicSpecs,
} from '@eplb/contracts';
import {
  RolloutAck,
  RolloutAgentCommand,
  RolloutEvent,
  RolloutState,
  advanceRollout,
  compactRolloutEvent,
  expectedGains,
  ranksOfAgent,
  sameRanks,
  defaultRolloutOptions,
  isRolloutTerminal,
  planRollout,
  reduceRollout,
  replayRollout,
} from '@eplb/domain';
import { Authentication, ControlServer, ControlSession, MESSAGE_BUS, MessageBus, MessageConsumer, MessageProducer } from '@eplb/messaging';
import { ApiTokenRepository, DeploymentRollouts, RolloutControlRecord, RolloutRequestRecord, shapeOf, appendEvents, appendFenced, DeploymentRepository, EventMeta, HeatWindowRepository, NewEvent, readWholeStream, StoredEvent } from '@eplb/persistence';
import { APP_CONFIG, AppConfig, counter, gauge, LOGGER, REDIS } from '@eplb/platform';
import { HeatAnalysis, HeatAnalysisVerdict } from './heat-analysis';
import { RolloutLock } from './rollout-lock';
import { ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';

const SERVICE = 'service:rollout';

const rebalancingGauge = gauge('eplb_deployment_rebalancing', '1 while a rollout moves expert weights of the deployment (request routers may read it), else 0', ['deployment'] as const);
const agentsConnected = gauge('eplb_rollout_agents_connected', 'Agents connected to this instance on the direct control channel', ['deployment'] as const);
const commandsSent = counter('eplb_rollout_commands_sent_total', 'Commands sent to agents, by transport', ['transport'] as const);
const agentMessagesDropped = counter('eplb_rollout_agent_messages_dropped_total', 'Agent messages dropped: invalid, or on Kafka without a valid signature, or for another agent', ['reason'] as const);
/** How long the signing keys of a node are trusted before they are read again (a revoked token stops working within this). */
const SIGNING_KEYS_TTL_MS = 10_000;

/** Who is at the other end of a control-channel connection (from its hello, after its token checked). */
interface AgentPeer {
  readonly deployment: string;
  readonly node: number;
  readonly ranks: number[];
  readonly principal: string;
}

/** The machine events of a rollout stream, as the reducer takes them. */
export const machineEvents = (stored: readonly StoredEvent[]): RolloutEvent[] =>
  stored.filter((e) => e.type.startsWith('rollout.')).map((e) => e.payload as unknown as RolloutEvent);

/** One deployment this instance holds the lock for; every state change runs through `serial`. */
class Driver {
  state: RolloutState | null = null;
  rolloutId: string | null = null;
  /** Control requests already turned into operator events (by request event id). */
  readonly appliedControls = new Set<string>();
  /**
   * Events applied but not yet written (acks, prepare decisions, layer-committed rows): they wait
   * for the next write-ahead decision or the flush on the clock loop. Losing them in a crash
   * loses nothing — the replacement replays up to the last decision it finds, re-sends what is in
   * flight, and the agents answer again.
   */
  readonly unrecorded: NewEvent[] = [];
  unrecordedSince = 0;
  /** When the rollout was created: the analysis gate's baseline is the heat before it. */
  startedAt = 0;
  /** The driver's writes, in order: each appends after the previous one committed. */
  writes: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  stopped = false;

  constructor(readonly deployment: string) {}

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => (this.stopped ? (undefined as T) : fn()));
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export interface RolloutServiceStats {
  commandsSent: number;
  /** Of commandsSent, those that went over the direct control channel (the rest over Kafka). */
  commandsSentDirect: number;
  acksReceived: number;
  invalidMessages: number;
}

/**
 * Drives rollouts (issue 6). Requests and operator controls arrive as events the API appended to
 * `rollouts:<deployment>` (polled here); for each deployment with work the instance takes the
 * Redis lock, replays any unfinished rollout from its stream (`restarted`) or starts the next
 * request from the committed map, and then runs the state machine: every machine event is
 * appended to `rollout:<id>` (with the committed-map events it implies) in one transaction
 * BEFORE the commands it decided go to Kafka; acks come back on the acks topic; a clock loop
 * runs `advanceRollout` for timeouts and resends.
 */
@Injectable()
export class RolloutService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly instanceId = randomUUID();
  readonly stats: RolloutServiceStats = { commandsSent: 0, commandsSentDirect: 0, acksReceived: 0, invalidMessages: 0 };
  private readonly views = new Map<string, DeploymentRollouts>();
  private readonly drivers = new Map<string, Driver>();
  private readonly lock: RolloutLock;
  /** Where the agent registry is kept (the lock's Redis). */
  private readonly redis: Redis;
  /** Per `deployment/node`: what the registry says, so it is rewritten only on news or every few seconds. */
  private readonly registered = new Map<string, { entry: AgentRegistryEntry; writtenAt: number }>();
  /** Per `deployment/node`: the version of each layer the agent last said it holds (holdings reports, commit acks). */
  private readonly heldLayers = new Map<string, Map<number, number>>();
  private producer: MessageProducer | null = null;
  private consumer: MessageConsumer | null = null;
  private cursor = '0';
  private timers: NodeJS.Timeout[] = [];
  private polling: Promise<void> | null = null;
  private closed = false;
  private assigned = false;
  /** Latest holdings report per `deployment/node` (what the agents say they hold). */
  readonly holdings = new Map<string, { ranks: number[]; layers: number; at: number }>();
  /** Last sign of life per `deployment/node` (heartbeat, holdings, ack; either transport). */
  readonly lastSeen = new Map<string, number>();
  private readonly control: ControlServer<AgentPeer>;
  private readonly sessions = new Map<string, ControlSession<AgentPeer>>();
  private controlPort = 0;
  /** Acks read but not yet applied: applied together on the next turn of the event loop. */
  private readonly inbox: RolloutAckV1[] = [];
  private inboxScheduled = false;
  private readonly tokens: ApiTokenRepository;
  /** Per `deployment/node`: the keys its Kafka messages may be signed with, and when they were read. */
  private readonly signingKeys = new Map<string, { keys: string[]; at: number }>();

  constructor(
    private readonly ds: DataSource,
    private readonly deployments: DeploymentRepository,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly analysis: HeatAnalysis,
    private readonly heat: HeatWindowRepository,
  ) {
    this.lock = new RolloutLock(redis, this.instanceId, settings.ROLLOUT_LOCK_TTL_MS);
    this.redis = redis;
    this.tokens = new ApiTokenRepository(ds);
    this.control = new ControlServer<AgentPeer>({
      authenticate: (hello) => this.authenticate(hello),
      onSession: (sess) => this.onSession(sess),
      onMessage: (sess, line) => this.onControlLine(sess, line),
      onClose: (sess) => this.onSessionClosed(sess),
      onInvalid: (remote, reason) => {
        this.stats.invalidMessages++;
        this.logger.warn({ remote, reason }, 'control channel: invalid input');
      },
      ...(settings.ROLLOUT_CONTROL_TLS_CERT && settings.ROLLOUT_CONTROL_TLS_KEY
        ? { tls: { cert: readFileSync(settings.ROLLOUT_CONTROL_TLS_CERT), key: readFileSync(settings.ROLLOUT_CONTROL_TLS_KEY) } }
        : {}),
    });
  }

  /** The port of the direct control channel agents dial. */
  get controlChannelPort(): number {
    return this.controlPort;
  }

  /** Agents connected to this instance now, as `deployment/node`. */
  connectedAgents(): string[] {
    return [...this.sessions.values()].filter((x) => x.open).map((x) => `${x.peer.deployment}/${x.peer.node}`);
  }

  /** True once the ack consumer joined its group (acks sent from then on are read). */
  get ready(): boolean {
    return this.assigned;
  }

  /** Deployments this instance drives now. */
  driving(): string[] {
    return [...this.drivers.keys()];
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.ensureTopics(topicSpecs(this.config.KAFKA_HEAT_PARTITIONS)).catch((e: Error) => this.logger.warn({ err: e.message }, 'ensureTopics'));
    this.controlPort = await this.control.listen(this.settings.ROLLOUT_CONTROL_PORT, this.settings.ROLLOUT_CONTROL_HOST);
    const tls = !!this.settings.ROLLOUT_CONTROL_TLS_CERT;
    this.logger.info({ port: this.controlPort, host: this.settings.ROLLOUT_CONTROL_HOST, tls }, 'control channel listening');
    if (!tls && this.config.NODE_ENV === 'production') this.logger.warn('control channel without TLS: agent tokens cross the network in the clear (set ROLLOUT_CONTROL_TLS_CERT/KEY)');
    this.producer = await this.bus.producer({ compression: 'none' });
    // A group per instance, reading from the log end: every instance sees every ack and keeps
    // those of the deployments it holds; acks missed while down are recovered by resends.
    this.consumer = this.bus.consumer({
      groupId: `${this.config.KAFKA_GROUP_PREFIX}-rollout-${this.instanceId}`,
      topics: [TOPICS.rolloutAcks],
      fromBeginning: false,
      onAssignment: () => {
        this.assigned = true;
      },
    });
    await this.consumer.run(async (batch) => {
      for (const m of batch.messages) {
        const p = parseRolloutAck(m.value);
        if (!p.ok) {
          this.drop('invalid', { reason: p.reason }, 'invalid rollout ack dropped');
          continue;
        }
        // signed by a token of the node it names, and an ack only for that node's own ranks
        const { deployment, node } = p.message;
        if (p.message.type === 'ack' && p.message.ack.agent !== node) {
          this.drop('other agent', { deployment, node, agent: p.message.ack.agent }, 'ack on Kafka for another agent dropped');
          continue;
        }
        if (!(await this.signedForItsNode(p.message, m.value as Buffer, m.headers[AGENT_SIGNATURE_HEADER]))) {
          this.drop('unsigned', { deployment, node, type: p.message.type }, 'agent message on Kafka without a valid signature of a token for its node dropped');
          continue;
        }
        this.receive(p.message);
      }
    });
    this.timers.push(setInterval(() => void this.poll(), this.settings.ROLLOUT_POLL_MS));
    this.timers.push(setInterval(() => this.tickAll(), this.settings.ROLLOUT_TICK_MS));
    this.timers.push(setInterval(() => void this.renewLocks(), Math.max(100, Math.floor(this.settings.ROLLOUT_LOCK_TTL_MS / 3))));
    void this.poll();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.polling?.catch(() => undefined);
    for (const d of this.drivers.values()) {
      await d.serial(() => this.flushUnrecorded(d)).catch(() => undefined);
      await d.writes;
      d.stopped = true;
      await this.lock.release(d.deployment).catch(() => undefined);
    }
    this.drivers.clear();
    await this.control.close();
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }

  /** Stops driving without releasing anything: what a crash looks like to the others (tests). */
  async crash(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const d of this.drivers.values()) d.stopped = true;
    this.drivers.clear();
    await this.control.close();
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }

  /** The state of a rollout this instance drives (null otherwise). */
  stateOf(deployment: string): RolloutState | null {
    return this.drivers.get(deployment)?.state ?? null;
  }

  // -------------------------------------------------------------------------------------------
  // requests and controls (polled from the event store)

  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.polling ??= this.pollOnce()
      .catch((e: Error) => this.logger.error({ err: e.message }, 'rollout poll failed'))
      .finally(() => {
        this.polling = null;
      });
    return this.polling;
  }

  private view(deployment: string): DeploymentRollouts {
    let v = this.views.get(deployment);
    if (!v) this.views.set(deployment, (v = new DeploymentRollouts(deployment)));
    return v;
  }

  private async pollOnce(): Promise<void> {
    // Ids are handed out before commit, so a row may appear below the cursor later: re-read a
    // window below it (the fold ignores ids it has seen).
    const from = BigInt(this.cursor) > 500n ? (BigInt(this.cursor) - 500n).toString() : '0';
    for (let after = from; ; ) {
      const rows: { id: string; stream: string; type: string; payload: Record<string, unknown>; actor: string; reason: string; correlation_id: string }[] = await this.ds.query(
        `SELECT id::text AS id, stream, type, payload, actor, reason, correlation_id FROM events WHERE id > $1 AND stream LIKE $2 ORDER BY id LIMIT 2000`,
        [after, `${DEPLOYMENT_ROLLOUTS_PREFIX}%`],
      );
      for (const r of rows) {
        this.view(r.stream.slice(DEPLOYMENT_ROLLOUTS_PREFIX.length)).apply({ ...r, correlationId: r.correlation_id });
        if (BigInt(r.id) > BigInt(this.cursor)) this.cursor = r.id;
      }
      if (rows.length < 2000) break;
      after = rows[rows.length - 1].id;
    }
    for (const [dep, v] of this.views) {
      if (this.closed) return;
      const work = v.active() !== null || v.pending().length > 0;
      let d = this.drivers.get(dep);
      if (!work && !d) continue;
      if (!d) {
        if (!(await this.lock.acquire(dep))) continue;
        d = new Driver(dep);
        this.drivers.set(dep, d);
        this.logger.info({ deployment: dep, instance: this.instanceId }, 'rollout lock taken');
      }
      const driver = d;
      await driver.serial(() => this.drive(driver, v));
      if (!driver.state && v.active() === null && v.pending().length === 0 && this.drivers.get(dep) === driver) {
        this.drivers.delete(dep);
        driver.stopped = true;
        await this.lock.release(dep);
      }
    }
  }

  /** Brings a driver up to date with its deployment's stream: resume, controls, next request. */
  private async drive(d: Driver, v: DeploymentRollouts): Promise<void> {
    if (!d.state) {
      const active = v.active();
      if (active) await this.resume(d, active);
      else {
        const next = v.pending()[0];
        if (next) await this.start(d, next);
      }
    }
    if (d.state && d.rolloutId) {
      const now = Date.now();
      const ops: RolloutEvent[] = [];
      for (const c of v.controls) {
        if (c.payload.rolloutId !== d.rolloutId || d.appliedControls.has(c.eventId)) continue;
        d.appliedControls.add(c.eventId);
        ops.push(operatorEvent(c, now));
      }
      if (ops.length > 0) await this.step(d, ops, now);
    }
    if (d.state && isRolloutTerminal(d.state)) {
      d.state = null;
      d.rolloutId = null;
      const next = v.pending()[0];
      if (next) await this.start(d, next);
    }
  }

  /**
   * The deployment's rollouts read model folded afresh from its whole stream. Taken before
   * resuming or starting a rollout: the polled fold may hold committed versions whose rows were
   * never written (a driver that stopped with rows held back) or may have applied an older row
   * late, and a plan must start from what the log says each layer is on.
   */
  private async freshView(deployment: string): Promise<DeploymentRollouts> {
    const v = new DeploymentRollouts(deployment);
    for (const e of await readWholeStream(this.ds.manager, deploymentRolloutsStream(deployment))) v.apply(e);
    this.views.set(deployment, v);
    return v;
  }

  private async resume(d: Driver, rolloutId: string): Promise<void> {
    await this.freshView(d.deployment);
    const stored = await readWholeStream(this.ds.manager, rolloutStream(rolloutId));
    const events = machineEvents(stored);
    if (events.length === 0) return;
    d.state = replayRollout(events);
    d.rolloutId = rolloutId;
    d.startedAt = events[0].at;
    for (const e of events) if (e.type === 'operator' && e.correlationId) d.appliedControls.add(e.correlationId);
    this.logger.warn({ deployment: d.deployment, rolloutId, events: events.length, status: d.state.status }, 'resuming rollout from the event log');
    await this.step(d, [{ type: 'restarted', at: Date.now(), actor: SERVICE, reason: `instance ${this.instanceId} took over` }], Date.now());
  }

  private async start(d: Driver, req: RolloutRequestRecord): Promise<void> {
    const v = await this.freshView(d.deployment);
    const rid = req.payload.rolloutId;
    const meta: EventMeta = { actor: req.actor, reason: req.reason, correlationId: req.correlationId };
    const reject = async (why: string) => {
      this.logger.warn({ deployment: d.deployment, rolloutId: rid, why }, 'rollout rejected');
      await this.append(d.deployment, [{ stream: deploymentRolloutsStream(d.deployment), type: ROLLOUT_EVENTS.rejected, payload: { rolloutId: rid, why }, ...meta, actor: SERVICE }]);
      v.rejected.set(rid, why);
    };
    const dep = await this.deployments.find(d.deployment);
    if (!dep) return reject(`deployment ${d.deployment} does not exist`);
    const versions = v.committedVersions(dep.numLayers);
    const toVersion = req.payload.mapVersion;
    if (versions.every((x) => x === toVersion)) return reject(`every layer is already on version ${toVersion}`);
    // Layers may be on different versions (a failed rollout that held its committed layers): each
    // layer starts from the rows of its own version, and a rollback returns it there.
    const distinct = [...new Set(versions)];
    const maps = new Map<number, number[][]>();
    for (const version of [...distinct, toVersion]) {
      const m = await this.deployments.mapVersion(d.deployment, version);
      if (!m) return reject(`map version ${version} does not exist`);
      maps.set(version, m);
    }
    const target = maps.get(toVersion)!;
    const current = versions.map((version, l) => maps.get(version)![l]);
    // the version most layers come from (for the record; each layer keeps its own)
    const counts = new Map<number, number>();
    for (const x of versions) if (x !== toVersion) counts.set(x, (counts.get(x) ?? 0) + 1);
    const fromVersion = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
    // largest expected gain first: imbalance under the newest sealed interval's heat, now vs after
    const shape = shapeOf(dep);
    let gain: number[] | undefined;
    try {
      const [interval] = await this.heat.intervals(d.deployment, dep.settings.phase, { limit: 1 });
      if (interval) gain = expectedGains(shape, current, target, interval.logicalLoad);
    } catch (e) {
      this.logger.warn({ deployment: d.deployment, err: (e as Error).message }, 'no heat to order layers by gain: layer order');
    }
    let plan;
    try {
      plan = planRollout({
        rolloutId: rid,
        deployment: d.deployment,
        shape,
        fromVersion,
        toVersion,
        ...(distinct.length > 1 ? { fromVersions: versions } : {}),
        current,
        target,
        expertBytes: dep.settings.expertBytes,
        ...(gain ? { gain } : {}),
        ...(req.payload.steps ? { steps: req.payload.steps } : {}),
      });
    } catch (e) {
      return reject(`cannot plan: ${(e as Error).message}`);
    }
    const now = Date.now();
    const created: RolloutEvent = {
      type: 'created',
      at: now,
      plan,
      options: {
        ...defaultRolloutOptions,
        resendMs: this.settings.ROLLOUT_RESEND_MS,
        prepareTimeoutMs: this.settings.ROLLOUT_PREPARE_TIMEOUT_MS,
        commitTimeoutMs: this.settings.ROLLOUT_COMMIT_TIMEOUT_MS,
        maxRollbackAttempts: this.settings.ROLLOUT_MAX_ROLLBACK_ATTEMPTS,
        rollbackRetryMs: this.settings.ROLLOUT_ROLLBACK_RETRY_MS,
        analysisTimeoutMs: this.settings.ROLLOUT_ANALYSIS_TIMEOUT_MS,
        onFailure: req.payload.onFailure ?? 'rollback',
        ...(req.payload.bytesPerSecond ? { bytesPerSecond: req.payload.bytesPerSecond } : {}),
      },
      actor: req.actor,
      reason: req.reason,
      correlationId: req.correlationId,
    };
    const started: NewEvent = {
      stream: deploymentRolloutsStream(d.deployment),
      type: ROLLOUT_EVENTS.started,
      payload: { rolloutId: rid, fromVersion, toVersion: plan.toVersion, layers: plan.layers.map((l) => l.layer), gains: plan.layers.map((l) => l.gain), orderedBy: gain ? 'expected gain on the newest sealed interval' : 'layer index (no heat stored)', batches: plan.batches, transfers: plan.transfers, bytes: plan.bytes },
      ...meta,
      actor: SERVICE,
    };
    await this.append(d.deployment, [started, machineRow(rid, created)]);
    v.started.set(rid, { fromVersion, toVersion: plan.toVersion });
    d.state = reduceRollout(null, created);
    d.rolloutId = rid;
    d.startedAt = now;
    this.logger.info({ deployment: d.deployment, rolloutId: rid, fromVersion, toVersion: plan.toVersion, layers: plan.layers.length }, 'rollout started');
    // the first prepares are decided now, after the plan is on record (a large write)
    await this.step(d, [], Date.now());
  }

  // -------------------------------------------------------------------------------------------
  // the machine: inputs → events (recorded) → commands (sent)

  /** Applies `inputs`, advances, records everything in one transaction, then sends. */
  private async step(d: Driver, inputs: RolloutEvent[], now: number): Promise<void> {
    if (!d.state || !d.rolloutId) return;
    const before = d.state;
    let s = before;
    for (const e of inputs) s = reduceRollout(s, e);
    const adv = advanceRollout(s, now, { actor: SERVICE });
    s = adv.state;
    const events = [...inputs, ...adv.events];
    if (events.length === 0) return;
    const view = this.view(d.deployment);
    const rows: NewEvent[] = events.map((e) => machineRow(d.rolloutId!, e));
    const committed: { layer: number; version: number }[] = [];
    for (const l of s.layers) {
      if (l.version !== null && l.version !== (view.committed.get(l.layer) ?? s.plan.fromVersion) && (l.status === 'COMMITTED' || l.status === 'ROLLED_BACK')) {
        committed.push({ layer: l.layer, version: l.version });
      }
    }
    const finished = isRolloutTerminal(s) && !isRolloutTerminal(before);
    if (finished && s.status === 'SUCCEEDED') {
      // layers the two versions share were on the target's rows all along: they are on it now
      const inPlan = new Set(s.plan.layers.map((l) => l.layer));
      for (let l = 0; l < s.plan.shape.numLayers; l++) if (!inPlan.has(l)) committed.push({ layer: l, version: s.plan.toVersion });
    }
    const meta = { actor: SERVICE, reason: `rollout ${d.rolloutId}`, correlationId: d.rolloutId };
    for (const c of committed) {
      rows.push({ stream: deploymentRolloutsStream(d.deployment), type: ROLLOUT_EVENTS.layerCommitted, payload: { rolloutId: d.rolloutId, ...c }, ...meta });
    }
    if (finished) {
      rows.push({ stream: deploymentRolloutsStream(d.deployment), type: ROLLOUT_EVENTS.finished, payload: { rolloutId: d.rolloutId, status: s.status, failure: s.failure }, ...meta, reason: s.failure?.reason ?? `rollout ${d.rolloutId} ${s.status}` });
    }
    // Write-ahead where it matters: a decision to commit or abort (what ranks serve, or give up),
    // an operator's or analysis input, and the end of a rollout are recorded — with everything
    // held back before them — before anything is sent. A step that only records acks or only
    // stages (prepare) is held in memory and written with the next such decision (or by the
    // clock loop within 250 ms): one transaction per layer. After a crash the log holds a prefix;
    // the replacement decides the same prepare again (same attempt, same part), re-sends what is
    // in flight, and the agents answer from their ledgers.
    const stagingOnly =
      !finished && inputs.every((e) => e.type === 'ack') && adv.events.every((e) => e.type !== 'decided' || e.commands.every((c) => c.kind === 'prepare'));
    if (stagingOnly) {
      if (d.unrecorded.length === 0) d.unrecordedSince = now;
      d.unrecorded.push(...rows);
    } else await this.record(d, [...d.unrecorded.splice(0), ...rows]);
    d.state = s;
    rebalancingGauge.set({ deployment: d.deployment }, isRolloutTerminal(s) ? 0 : 1);
    for (const c of committed) view.committed.set(c.layer, c.version);
    if (finished) {
      view.finished.set(d.rolloutId, { status: s.status, failure: s.failure });
      this.logger.info({ deployment: d.deployment, rolloutId: d.rolloutId, status: s.status, failure: s.failure }, 'rollout finished');
    }
    for (const c of adv.events.flatMap((e) => (e.type === 'decided' ? e.commands : []))) {
      if (c.kind === 'analyse') this.pollAnalysis(d, d.rolloutId, c.batch, c.layers);
    }
    // a commit or abort is sent only while the lock is surely ours (lease; else Redis)
    if (adv.send.length > 0) await this.fenced(d.deployment);
    await this.send(d, adv.send);
  }

  /**
   * Sends each command over the agent's direct control channel when it has one to this instance,
   * else over Kafka (where every agent also listens). Agents execute idempotently, so a command
   * that arrives both ways, or again after a resend, is answered and not run twice.
   */
  private async send(d: Driver, commands: readonly RolloutAgentCommand[]): Promise<void> {
    if (commands.length === 0 || !d.rolloutId) return;
    const sentAt = Date.now();
    const viaKafka: RolloutCommandV1[] = [];
    for (const command of commands) {
      const msg: RolloutCommandV1 = { v: 1, deployment: d.deployment, rolloutId: d.rolloutId, command, sentAt };
      const sess = this.sessions.get(`${d.deployment}/${command.agent}`);
      if (sess?.send(msg)) {
        this.stats.commandsSentDirect++;
        commandsSent.inc({ transport: 'direct' });
      } else viaKafka.push(msg);
    }
    this.stats.commandsSent += commands.length;
    if (viaKafka.length === 0) return;
    if (!this.producer) throw new Error('Kafka producer not started');
    // signed for the node each command addresses (SERVICE_SIGNATURES_HEADER): agents drop the rest
    const messages = await Promise.all(
      viaKafka.map(async (m) => {
        const value = JSON.stringify(m);
        return { key: d.deployment, value, headers: { [SERVICE_SIGNATURES_HEADER]: signForEach(await this.nodeKeys(d.deployment, m.command.agent), value) } };
      }),
    );
    await this.producer.send(TOPICS.rolloutCommands, messages);
    commandsSent.inc({ transport: 'kafka' }, viaKafka.length);
  }

  /** Refuses to write for a deployment whose lock this instance no longer holds. */
  private async fenced(deployment: string): Promise<void> {
    if (!(await this.lock.holds(deployment))) {
      const d = this.drivers.get(deployment);
      if (d) {
        d.stopped = true;
        this.drivers.delete(deployment);
      }
      throw new Error(`rollout lock of ${deployment} lost; stopped driving it`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // agents: the direct control channel and acks from either transport

  private async authenticate(line: string): Promise<Authentication<AgentPeer>> {
    const p = parseAgentHello(line);
    if (!p.ok) return { ok: false, reason: `hello: ${p.reason}` };
    const h = p.message;
    const principal = await this.tokens.findActive(h.token);
    if (!principal || (principal.role !== 'agent' && principal.role !== 'operator')) return { ok: false, reason: 'token not accepted (needs an active agent or operator token)' };
    const scope = principal.scope;
    if (scope && (scope.deployment !== h.deployment || (scope.node !== undefined && scope.node !== h.node))) {
      return { ok: false, reason: `token is scoped to ${scope.deployment}${scope.node !== undefined ? ` node ${scope.node}` : ''}, not ${h.deployment} node ${h.node}` };
    }
    const dep = await this.deployments.find(h.deployment);
    if (!dep) return { ok: false, reason: `deployment ${h.deployment} does not exist` };
    if (h.node >= dep.numNodes) return { ok: false, reason: `node ${h.node} is not a node of ${h.deployment} (it has ${dep.numNodes})` };
    const own = ranksOfAgent(shapeOf(dep), h.node);
    if (!sameRanks(h.ranks, own)) {
      return { ok: false, reason: `node ${h.node} serves ranks [${own.join(',')}], not [${h.ranks.join(',')}]` };
    }
    return {
      ok: true,
      peer: { deployment: h.deployment, node: h.node, ranks: own, principal: principal.name },
      welcome: { v: 1, type: 'welcome', instance: this.instanceId },
    };
  }

  private onSession(sess: ControlSession<AgentPeer>): void {
    const key = `${sess.peer.deployment}/${sess.peer.node}`;
    const old = this.sessions.get(key);
    // one connection per agent: a reconnect replaces the old one
    if (old && old !== sess) {
      old.close(); // (its onClose does not fire: closed here)
      agentsConnected.dec({ deployment: old.peer.deployment });
    }
    this.sessions.set(key, sess);
    this.lastSeen.set(key, Date.now());
    this.register(sess.peer.deployment, sess.peer.node, sess.peer.ranks);
    agentsConnected.inc({ deployment: sess.peer.deployment });
    this.logger.info({ deployment: sess.peer.deployment, node: sess.peer.node, principal: sess.peer.principal, remote: sess.remote }, 'agent connected');
    void this.ds
      .transaction((em) =>
        appendEvents(em, [
          {
            stream: `agents:${sess.peer.deployment}`,
            type: 'agent.connected',
            payload: { node: sess.peer.node, ranks: sess.peer.ranks, remote: sess.remote, instance: this.instanceId },
            actor: `token:${sess.peer.principal}`,
            reason: `agent of node ${sess.peer.node} connected to rollout instance ${this.instanceId}`,
            correlationId: this.instanceId,
          },
        ]),
      )
      .catch((e: Error) => this.logger.warn({ err: e.message }, 'agent.connected not recorded'));
  }

  private onSessionClosed(sess: ControlSession<AgentPeer>): void {
    const key = `${sess.peer.deployment}/${sess.peer.node}`;
    if (this.sessions.get(key) === sess) {
      this.sessions.delete(key);
      this.register(sess.peer.deployment, sess.peer.node, sess.peer.ranks);
    }
    agentsConnected.dec({ deployment: sess.peer.deployment });
    this.logger.info({ deployment: sess.peer.deployment, node: sess.peer.node }, 'agent disconnected');
  }

  private onControlLine(sess: ControlSession<AgentPeer>, line: string): void {
    const p = parseRolloutAck(line);
    if (!p.ok) {
      this.drop('invalid', { remote: sess.remote, reason: p.reason }, 'invalid control message dropped');
      return;
    }
    // a connection speaks for the node its hello was accepted for, and for nothing else
    const m = p.message;
    const ranksOk = m.type === 'ack' ? m.ack.agent === sess.peer.node : sameRanks(m.ranks, sess.peer.ranks);
    if (m.deployment !== sess.peer.deployment || m.node !== sess.peer.node || !ranksOk) {
      this.drop('other agent', { remote: sess.remote, deployment: m.deployment, node: m.node }, 'control message for another agent dropped');
      return;
    }
    this.receive(p.message);
  }

  /** An agent message not taken: counted (stats, metric by reason) and logged. */
  private drop(reason: 'invalid' | 'other agent' | 'unsigned', fields: object, msg: string): void {
    this.stats.invalidMessages++;
    agentMessagesDropped.inc({ reason });
    this.logger.warn(fields, msg);
  }

  /**
   * The keys (token hashes) of the tokens that may act for a node — those the control channel
   * would accept in its hello for it. Read per node and trusted for SIGNING_KEYS_TTL_MS; `fresh`
   * re-reads keys older than a second (a token issued since).
   */
  private async nodeKeys(deployment: string, node: number, fresh = false): Promise<string[]> {
    const key = `${deployment}/${node}`;
    const entry = this.signingKeys.get(key);
    const age = entry ? Date.now() - entry.at : Infinity;
    if (entry && age <= SIGNING_KEYS_TTL_MS && !(fresh && age >= 1_000)) return entry.keys;
    const keys = await this.tokens.signingKeysFor(deployment, node);
    this.signingKeys.set(key, { keys, at: Date.now() });
    return keys;
  }

  /** Whether an agent message read from Kafka is signed (AGENT_SIGNATURE_HEADER) with a key of its node. */
  private async signedForItsNode(m: RolloutAckV1, value: Buffer, signature: string | undefined): Promise<boolean> {
    if (signedWithOneOf(await this.nodeKeys(m.deployment, m.node), value, signature)) return true;
    return signedWithOneOf(await this.nodeKeys(m.deployment, m.node, true), value, signature);
  }

  /**
   * Records what this instance last heard from an agent in the registry the API reads. Written on
   * news (connected, ranks, held versions changed) or when the last write is older than 5 s, so
   * heartbeats keep `lastSeenMs` fresh without a write per message; never fails the caller.
   */
  private register(deployment: string, node: number, ranks: number[]): void {
    const key = `${deployment}/${node}`;
    const prev = this.registered.get(key);
    const sess = this.sessions.get(key);
    const entry: AgentRegistryEntry = {
      node,
      ranks,
      lastSeenMs: this.lastSeen.get(key) ?? Date.now(),
      connected: !!sess?.open,
      principal: sess?.peer.principal ?? prev?.entry.principal ?? null,
      heldVersions: this.heldLayers.has(key) ? this.heldVersions(key) : null,
    };
    const now = Date.now();
    // connection changes at once; held versions (they change with every commit) at most once a second; else every 5 s
    const urgent = !prev || prev.entry.connected !== entry.connected || prev.entry.ranks.join() !== ranks.join();
    const heldChanged = JSON.stringify(prev?.entry.heldVersions) !== JSON.stringify(entry.heldVersions);
    if (!urgent && !(heldChanged && now - prev.writtenAt >= 1_000) && now - prev.writtenAt < 5_000) return;
    this.registered.set(key, { entry, writtenAt: now });
    const rk = agentRegistryKey(deployment);
    void this.redis
      .multi()
      .hset(rk, String(node), JSON.stringify(entry))
      .pexpire(rk, 7 * 24 * 3600 * 1000)
      .exec()
      .catch((e: Error) => this.logger.warn({ deployment, node, err: e.message }, 'agent registry not written'));
  }

  private heldVersions(key: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.heldLayers.get(key)?.values() ?? []) out[v] = (out[v] ?? 0) + 1;
    return out;
  }

  /** An agent message from either transport: acks are applied together on the next tick of the loop. */
  private receive(m: RolloutAckV1): void {
    const key = `${m.deployment}/${m.node}`;
    this.lastSeen.set(key, Date.now());
    if (m.type === 'heartbeat') {
      this.register(m.deployment, m.node, m.ranks);
      return;
    }
    if (m.type === 'holdings') {
      this.holdings.set(key, { ranks: m.ranks, layers: m.layers.length, at: m.sentAt });
      this.heldLayers.set(key, new Map(m.layers.map((l) => [l.layer, l.version])));
      this.register(m.deployment, m.node, m.ranks);
      return;
    }
    if (m.ack.ok && m.ack.holdings) {
      const held = this.heldLayers.get(key) ?? new Map<number, number>();
      held.set(m.ack.holdings.layer, m.ack.holdings.version);
      this.heldLayers.set(key, held);
      this.register(m.deployment, m.node, m.ack.ranks);
    }
    if (!this.drivers.has(m.deployment)) return;
    this.stats.acksReceived++;
    this.inbox.push(m);
    if (!this.inboxScheduled) {
      this.inboxScheduled = true;
      setImmediate(() => {
        this.inboxScheduled = false;
        void this.applyAcks(this.inbox.splice(0));
      });
    }
  }

  /** Applies the acks read so far, one machine step (one transaction) per deployment. */
  private async applyAcks(messages: readonly RolloutAckV1[]): Promise<void> {
    const byDeployment = new Map<string, RolloutAck[]>();
    for (const m of messages) {
      if (m.type !== 'ack') continue;
      const list = byDeployment.get(m.deployment) ?? [];
      list.push(m.ack as RolloutAck);
      byDeployment.set(m.deployment, list);
    }
    await Promise.all(
      [...byDeployment].map(async ([dep, acks]) => {
        const d = this.drivers.get(dep);
        if (!d) return;
        await d
          .serial(async () => {
            if (!d.state || !d.rolloutId) return;
            const now = Date.now();
            const mine = acks.filter((a) => a.rolloutId === d.rolloutId);
            if (mine.length === 0) return;
            await this.step(d, mine.map((ack) => ({ type: 'ack', at: now, ack })), now);
          })
          .catch((e: Error) => this.logger.error({ deployment: dep, err: e.message }, 'ack handling failed'));
      }),
    );
  }

  /**
   * The analysis gate: asks HeatAnalysis (the collector's episodes in Postgres) until it has a
   * verdict on the batch's layers, then feeds it to the machine. Stops asking once the gate is
   * gone (promoted, aborted, timed out by the machine) or the driver stopped. After a takeover the
   * machine asks again (`restarted` clears `requested`), so polling restarts by itself.
   */
  private pollAnalysis(d: Driver, rolloutId: string, batch: number, layers: number[]): void {
    const s = d.state;
    if (!s?.gate) return;
    const q = {
      deployment: d.deployment,
      layers,
      baselineBefore: d.startedAt,
      committedAt: s.gate.since,
      minEpisodes: this.settings.ROLLOUT_ANALYSIS_MIN_EPISODES,
      version: s.plan.toVersion,
    };
    // the baseline: episodes with the batch's layers on their version before the rollout (when they share one)
    const planned = s.plan.layers.filter((l) => layers.includes(l.layer));
    const before = new Set(planned.map((l) => l.fromVersion ?? s.plan.fromVersion));
    // the rows the batch's layers roll back to (every agent's part carries the full row): the
    // gate pairs each episode with them, modelled on its heat, so drifting heat does not decide
    const previousRows = Object.fromEntries(planned.filter((l) => l.inverse[0]).map((l) => [l.layer, l.inverse[0].row] as const));
    const query = { ...q, previousRows, ...(before.size === 1 ? { baselineVersion: [...before][0] } : {}) };
    const tick = async (): Promise<void> => {
      const g = d.state?.gate;
      if (this.closed || d.stopped || d.rolloutId !== rolloutId || !g || g.batch !== batch || d.state?.failure) return;
      let r: HeatAnalysisVerdict;
      try {
        r = await this.analysis.analyse(query);
      } catch (e) {
        this.logger.warn({ deployment: d.deployment, batch, err: (e as Error).message }, 'analysis query failed; asking again');
        r = { verdict: 'pending', detail: '', episodes: 0 };
      }
      if (r.verdict === 'pending') {
        const t = setTimeout(() => void tick(), this.settings.ROLLOUT_ANALYSIS_POLL_MS);
        t.unref();
        return;
      }
      const verdict = r;
      this.logger.info({ deployment: d.deployment, rolloutId, batch, verdict: verdict.verdict, detail: verdict.detail }, 'analysis gate');
      await d
        .serial(async () => {
          if (d.rolloutId !== rolloutId || d.state?.gate?.batch !== batch) return;
          await this.step(d, [{ type: 'analysis', at: Date.now(), batch, passed: verdict.verdict === 'pass', detail: verdict.detail, actor: SERVICE, reason: `analysis gate of batch ${batch}: ${verdict.verdict}` }], Date.now());
        })
        .catch((e: Error) => this.logger.error({ deployment: d.deployment, err: e.message }, 'analysis verdict not applied'));
    };
    setImmediate(() => void tick());
  }

  /** Writes ack events held back for longer than a moment (the audit trail must not lag). */
  private async flushUnrecorded(d: Driver): Promise<void> {
    if (d.unrecorded.length === 0) return;
    await this.record(d, d.unrecorded.splice(0));
  }

  /**
   * Appends `rows` after the driver's previous writes (ids in decision order). A failed write
   * stops the driver and releases its lock: whoever takes the deployment next replays the log,
   * which holds a prefix of what happened, and re-sends what is in flight.
   */
  private record(d: Driver, rows: NewEvent[]): Promise<void> {
    const write = d.writes.then(async () => {
      if (d.stopped) throw new Error('driver stopped');
      await this.append(d.deployment, rows);
    });
    d.writes = write.catch((e: Error) => this.abandon(d, e));
    return write;
  }

  /**
   * Appends rows of a deployment this instance drives: the lock must be ours (lease, else Redis),
   * and in the same statement as the insert (appendFenced) the deployment's fence is raised to our
   * lock generation — refused when a later holder has written, so a paused instance can never
   * append behind its successor.
   */
  private async append(deployment: string, rows: NewEvent[]): Promise<void> {
    await this.fenced(deployment);
    const generation = this.lock.generation(deployment);
    if (!(await appendFenced(this.ds, { deployment, generation, instance: this.instanceId }, rows))) {
      throw new Error(`fenced out: a later holder of ${deployment}'s rollout lock has written (our generation ${generation})`);
    }
  }

  private abandon(d: Driver, e: Error): void {
    if (d.stopped) return;
    d.stopped = true;
    if (this.drivers.get(d.deployment) === d) this.drivers.delete(d.deployment);
    this.logger.error({ deployment: d.deployment, rolloutId: d.rolloutId, err: e.message }, 'rollout log write failed: stopped driving; the next holder resumes from the log');
    void this.lock.release(d.deployment).catch(() => undefined);
  }

  private tickAll(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const d of this.drivers.values()) {
      if (d.unrecorded.length > 0 && now - d.unrecordedSince > 250) {
        void d.serial(() => this.flushUnrecorded(d)).catch((e: Error) => this.logger.error({ deployment: d.deployment, err: e.message }, 'flushing acks failed'));
      }
      if (!d.state || isRolloutTerminal(d.state)) continue;
      void d
        .serial(async () => {
          if (d.state) await this.step(d, [], Date.now());
          if (d.state && isRolloutTerminal(d.state)) void this.poll();
        })
        .catch((e: Error) => this.logger.error({ deployment: d.deployment, err: e.message }, 'rollout tick failed'));
    }
  }

  private async renewLocks(): Promise<void> {
    for (const d of [...this.drivers.values()]) {
      const ok = await this.lock.renew(d.deployment).catch(() => false);
      if (!ok && this.drivers.get(d.deployment) === d) {
        d.stopped = true;
        this.drivers.delete(d.deployment);
        this.logger.error({ deployment: d.deployment }, 'rollout lock lost: stopped driving');
      }
    }
  }
}

const machineRow = (rolloutId: string, e: RolloutEvent): NewEvent => ({
  stream: rolloutStream(rolloutId),
  type: `rollout.${e.type}`,
  payload: compactRolloutEvent(e) as unknown as Record<string, unknown>,
  actor: e.actor ?? SERVICE,
  reason: e.reason ?? e.type,
  correlationId: e.correlationId ?? rolloutId,
});

const operatorEvent = (c: RolloutControlRecord, at: number): RolloutEvent => ({
  type: 'operator',
  at,
  action: c.payload.action,
  ...(c.payload.rollback !== undefined ? { rollback: c.payload.rollback } : {}),
  actor: c.actor,
  reason: c.reason,
  // the control request's event id: on replay, controls already applied are not applied again
  correlationId: c.eventId,
});
