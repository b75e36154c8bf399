import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { deploymentRolloutsStream, ROLLOUT_EVENTS, RolloutAckV1 } from '@eplb/contracts';
import { ackWithoutNews, advanceRollout, beforeRecord, isRolloutTerminal, reduceRollout, replayRollout, ROLLOUT_STATUS, RolloutAck, RolloutEvent } from '@eplb/domain';
import { DeploymentRollouts, DeploymentRolloutsReader, FollowedRollouts, NewEvent, RolloutControlRecord, RolloutRequestRecord } from '@eplb/persistence';
import { counter, gauge, LOGGER } from '@eplb/platform';
import { AgentGateway } from '../agents/agent-gateway';
import { AnalysisGatePoller } from '../analysis-gate.poller';
import { ROLLOUT_SERVICE_ACTOR, RolloutInstance } from '../rollout-instance';
import { RolloutStats } from '../rollout-stats';
import { RolloutLayerMetrics } from './rollout-layer.metrics';
import { DeploymentDriver } from './deployment-driver';
import { RolloutDrivers } from './rollout-drivers';
import { machineRow, RolloutLog } from './rollout-log';
import { RolloutPlanner } from './rollout-planner';

const acksNotRecorded = counter('eplb_rollout_acks_not_recorded_total', 'Acks read but not recorded: of another fence generation, or adding nothing (duplicates, replays)', ['reason'] as const);
const rebalancingGauge = gauge('eplb_deployment_rebalancing', '1 while a rollout moves expert weights of the deployment (request routers may read it), else 0', ['deployment'] as const);

/**
 * Runs the state machine of the rollouts this instance drives: inputs (acks, operator controls,
 * analysis verdicts, the clock) → events, recorded → commands, sent. Every machine event is
 * appended to `rollout:<id>` with the committed-map rows it implies BEFORE the commands it decided
 * go out, so a replacement replays the log and resumes. Every event of a rollout carries its
 * request's correlation id: the chain of custody of the map version it deploys.
 */
@Injectable()
export class RolloutRunner {
  /** Acks read but not yet applied: applied together on the next turn of the event loop. */
  private readonly inbox: RolloutAckV1[] = [];
  private inboxScheduled = false;

  constructor(
    private readonly drivers: RolloutDrivers,
    private readonly rollouts: FollowedRollouts,
    private readonly reader: DeploymentRolloutsReader,
    private readonly planner: RolloutPlanner,
    private readonly log: RolloutLog,
    private readonly gateway: AgentGateway,
    private readonly gate: AnalysisGatePoller,
    private readonly instance: RolloutInstance,
    private readonly stats: RolloutStats,
    private readonly layerMetrics: RolloutLayerMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Brings a driver up to date with its deployment's stream: resume, controls, next request. */
  async drive(d: DeploymentDriver, v: DeploymentRollouts): Promise<void> {
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
      d.correlationId = null;
      const next = v.pending()[0];
      if (next) await this.start(d, next);
    }
  }

  /** An ack from either transport, for a deployment this instance drives: applied on the next turn. */
  receiveAck(m: RolloutAckV1): void {
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

  /** The clock: writes acks held back too long, and advances every running rollout (timeouts, resends). */
  tick(onFinished: () => void): void {
    if (this.drivers.closed) return;
    const now = Date.now();
    for (const d of this.drivers.all()) {
      if (d.unrecorded.length > 0 && now - d.unrecordedSince > 250) {
        void d.serial(() => this.log.flushUnrecorded(d)).catch((e: Error) => this.logger.error({ deployment: d.deployment, err: e.message }, 'flushing acks failed'));
      }
      if (!d.state || isRolloutTerminal(d.state)) continue;
      void d
        .serial(async () => {
          if (d.state) await this.step(d, [], Date.now());
          if (d.state && isRolloutTerminal(d.state)) onFinished();
        })
        .catch((e: Error) => this.logger.error({ deployment: d.deployment, err: e.message }, 'rollout tick failed'));
    }
  }

  private async resume(d: DeploymentDriver, rolloutId: string): Promise<void> {
    const v = await this.rollouts.reload(d.deployment);
    const events = await this.reader.rolloutEvents(rolloutId);
    if (events.length === 0) return;
    d.state = replayRollout(events);
    d.rolloutId = rolloutId;
    d.rolloutSeq = v.startOrder(rolloutId);
    // the `created` event carries the request's correlation id (older logs: the rollout id)
    d.correlationId = events[0].correlationId ?? rolloutId;
    d.startedAt = events[0].at;
    for (const e of events) if (e.type === 'operator' && e.correlationId) d.appliedControls.add(e.correlationId);
    this.logger.warn({ deployment: d.deployment, rolloutId, events: events.length, status: d.state.status }, 'resuming rollout from the event log');
    await this.step(d, [{ type: 'restarted', at: Date.now(), actor: ROLLOUT_SERVICE_ACTOR, reason: `instance ${this.instance.id} took over` }], Date.now());
  }

  private async start(d: DeploymentDriver, req: RolloutRequestRecord): Promise<void> {
    const v = await this.rollouts.reload(d.deployment);
    const rid = req.payload.rolloutId;
    // The caller's view may be older than the lock: another instance may have started (and even
    // finished) this request and let the lock go since. The log read now, under the lock, decides.
    if (v.started.has(rid) || v.rejected.has(rid)) {
      this.logger.info({ deployment: d.deployment, rolloutId: rid }, 'request already taken up by another instance');
      return;
    }
    const planned = await this.planner.plan(req, v);
    if (!planned.ok) {
      this.logger.warn({ deployment: d.deployment, rolloutId: rid, why: planned.why }, 'rollout rejected');
      const meta = { actor: ROLLOUT_SERVICE_ACTOR, reason: req.reason, correlationId: req.correlationId };
      await this.log.append(d.deployment, [{ stream: deploymentRolloutsStream(d.deployment), type: ROLLOUT_EVENTS.rejected, payload: { rolloutId: rid, why: planned.why }, ...meta }]);
      v.rejected.set(rid, planned.why);
      return;
    }
    const { plan, created, started, fromVersion } = planned;
    await this.log.append(d.deployment, [started, machineRow(rid, req.correlationId, created)]);
    v.started.set(rid, { fromVersion, toVersion: plan.toVersion });
    d.state = reduceRollout(null, created);
    d.rolloutId = rid;
    d.rolloutSeq = v.startOrder(rid);
    d.correlationId = req.correlationId;
    d.startedAt = created.at;
    this.logger.info({ deployment: d.deployment, rolloutId: rid, fromVersion, toVersion: plan.toVersion, layers: plan.layers.length }, 'rollout started');
    // the first prepares are decided now, after the plan is on record (a large write)
    await this.step(d, [], Date.now());
  }

  /**
   * Applies the acks read so far, one machine step (one transaction) per deployment. Only acks
   * answering this instance's own commands (the fence generation it holds the lock with) that
   * may change the rollout are recorded: a duplicate, a replay or an ack to a former holder adds
   * nothing to the log.
   */
  private async applyAcks(messages: readonly RolloutAckV1[]): Promise<void> {
    const byDeployment = new Map<string, RolloutAck[]>();
    for (const m of messages) {
      if (m.type !== 'ack') continue;
      if (m.generation !== this.log.generation(m.deployment)) {
        acksNotRecorded.inc({ reason: 'other generation' });
        continue;
      }
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
            const news: RolloutEvent[] = [];
            let s = d.state;
            for (const ack of acks) {
              const why = ackWithoutNews(s, ack);
              if (why !== null) {
                acksNotRecorded.inc({ reason: why.startsWith('duplicate') ? 'duplicate' : why.startsWith('stale') ? 'stale' : 'other' });
                continue;
              }
              const ev: RolloutEvent = { type: 'ack', at: now, ack };
              s = reduceRollout(s, ev);
              news.push(ev);
            }
            if (news.length === 0) return;
            await this.step(d, news, now);
          })
          .catch((e: Error) => this.logger.error({ deployment: dep, err: e.message }, 'ack handling failed'));
      }),
    );
  }

  /** Applies `inputs`, advances, records everything in one transaction, then sends. */
  private async step(d: DeploymentDriver, inputs: RolloutEvent[], now: number): Promise<void> {
    if (!d.state || !d.rolloutId) return;
    const before = d.state;
    let s = before;
    for (const e of inputs) s = reduceRollout(s, e);
    const adv = advanceRollout(s, now, { actor: ROLLOUT_SERVICE_ACTOR });
    s = adv.state;
    this.layerMetrics.observe(d.deployment, before, s, now);
    const view = this.rollouts.view(d.deployment);
    // The deployment's stream learns once that the rollout ended. A plan with nothing to move
    // (the target's rows are what every layer serves already) is terminal as it is created, so
    // `before` is terminal too: without its finished row the rollout would stay the deployment's
    // active one, resumed on every poll, and block every later request.
    const finished = isRolloutTerminal(s) && (!isRolloutTerminal(before) || !view.finished.has(d.rolloutId));
    const events = [...inputs, ...adv.events];
    if (events.length === 0 && !finished) return;
    const chain = d.correlationId ?? d.rolloutId;
    const rows: NewEvent[] = events.map((e) => machineRow(d.rolloutId!, chain, e));
    const committed: { layer: number; version: number }[] = [];
    for (const l of s.layers) {
      if (l.version !== null && l.version !== (view.committed.get(l.layer) ?? s.plan.fromVersion) && (l.status === 'COMMITTED' || l.status === 'ROLLED_BACK')) {
        committed.push({ layer: l.layer, version: l.version });
      }
    }
    if (finished && s.status === ROLLOUT_STATUS.succeeded) {
      // layers the two versions share were on the target's rows all along: they are on it now
      const inPlan = new Set(s.plan.layers.map((l) => l.layer));
      for (let l = 0; l < s.plan.shape.numLayers; l++) if (!inPlan.has(l)) committed.push({ layer: l, version: s.plan.toVersion });
    }
    const meta = { actor: ROLLOUT_SERVICE_ACTOR, reason: `rollout ${d.rolloutId}`, correlationId: chain };
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
    // the replacement decides the same prepare again (same attempt, same part), re-sends what is in
    // flight, and the agents answer from their ledgers.
    //
    // A step of prepares alone sends them before that write (they only stage, see beforeRecord):
    // the agents stage while it is recorded. Prepares decided beside a commit or abort (of layers
    // later in the window) go after it with them, each agent's in one write (AgentGateway.send).
    const stagingOnly =
      !finished && inputs.every((e) => e.type === 'ack') && adv.events.every((e) => e.type !== 'decided' || e.commands.every((c) => c.kind === 'prepare'));
    const binding = { rolloutId: d.rolloutId, rolloutSeq: d.rolloutSeq, generation: this.log.generation(d.deployment) };
    /** What is still to send once the step is on record (or, staging only, at once). */
    let pending = adv.send;
    if (stagingOnly) {
      if (d.unrecorded.length === 0) d.unrecordedSince = now;
      d.unrecorded.push(...rows);
    } else {
      const { early, afterRecord } = beforeRecord(adv.send);
      const write = this.log.record(d, [...d.unrecorded.splice(0), ...rows]);
      // awaited below; if sending the prepares throws first, the write's own failure is handled by the log (it stops the driver)
      write.catch(() => undefined);
      if (early.length > 0) {
        // (a prepare is sent only while the lock is surely ours, as every command)
        await this.log.fenced(d.deployment);
        await this.gateway.send(d.deployment, binding, early);
      }
      pending = afterRecord;
      await write;
    }
    d.state = s;
    rebalancingGauge.set({ deployment: d.deployment }, isRolloutTerminal(s) ? 0 : 1);
    for (const c of committed) view.committed.set(c.layer, c.version);
    if (finished) {
      view.finished.set(d.rolloutId, { status: s.status, failure: s.failure });
      this.logger.info({ deployment: d.deployment, rolloutId: d.rolloutId, status: s.status, failure: s.failure }, 'rollout finished');
    }
    for (const c of adv.events.flatMap((e) => (e.type === 'decided' ? e.commands : []))) {
      if (c.kind === 'analyse') this.watchGate(d, d.rolloutId, c.batch, c.layers);
    }
    // a commit or abort is sent only while the lock is surely ours (lease; else Redis)
    if (pending.length > 0) await this.log.fenced(d.deployment);
    await this.gateway.send(d.deployment, binding, pending);
  }

  /** Waits on the analysis gate of a batch and feeds its verdict to the machine. */
  private watchGate(d: DeploymentDriver, rolloutId: string, batch: number, layers: number[]): void {
    this.gate.watch(d, { rolloutId, batch, layers }, (verdict) =>
      d
        .serial(async () => {
          if (d.rolloutId !== rolloutId || d.state?.gate?.batch !== batch) return;
          const analysis: RolloutEvent = { type: 'analysis', at: Date.now(), batch, passed: verdict.verdict === 'pass', detail: verdict.detail, actor: ROLLOUT_SERVICE_ACTOR, reason: `analysis gate of batch ${batch}: ${verdict.verdict}` };
          await this.step(d, [analysis], Date.now());
        })
        .catch((e: Error) => this.logger.error({ deployment: d.deployment, err: e.message }, 'analysis verdict not applied')),
    );
  }
}

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
