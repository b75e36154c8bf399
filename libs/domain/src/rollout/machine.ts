import { DeploymentShape } from '../shape/deployment-shape';
import { LayerHoldings, verifyHoldings } from './holdings';
import { AgentPlanPart, RolloutPlan, isAgentRanks, ranksOfAgent } from './plan';
import { RolloutStatus, TERMINAL_ROLLOUT_STATUSES } from './status';

/**
 * The rollout state machine as a pure, event-sourced reducer:
 *   state' = reduceRollout(state, event)        — every input and every decision is an event
 *   commands = decideRollout(state, now)        — what to do next; the runner records them as one
 *                                          `decided` event BEFORE sending them (write-ahead)
 * `replayRollout(events)` rebuilds the state after a crash; a `restarted` event then makes `decideRollout`
 * re-send whatever is in flight. Up to `window` forward layers stage at once (prepares of the next
 * layers overlap the commits of earlier ones), but commits go one at a time in plan order, and
 * only the oldest layer in flight commits: a layer is on one version on all ranks except while its
 * COMMIT is being acknowledged, and a COMMIT, once decided, is re-sent until every agent acked it
 * (agents treat it idempotently) — never aborted. A failure aborts every layer still staging;
 * rollback runs one layer at a time, newest commit first.
 */

export type LayerStatus =
  | 'PENDING'
  | 'PREPARING'
  | 'PREPARED'
  | 'COMMITTING'
  | 'COMMITTED'
  | 'ABORTED'
  | 'ROLLING_BACK'
  | 'ROLLED_BACK';

export const isRolloutTerminal = (s: RolloutState): boolean => TERMINAL_ROLLOUT_STATUSES.includes(s.status);

export type RolloutDirection = 'forward' | 'inverse';
/** RolloutPhase of the transition in flight on a layer (forward: mirrors the status; inverse: inside ROLLING_BACK). */
export type RolloutPhase = 'preparing' | 'prepared' | 'committing';

export interface RolloutOptions {
  /** Base time an agent has to stage a layer (plus the bytes at `bytesPerSecond`). */
  readonly prepareTimeoutMs: number;
  /** After this long without every commit ack the rollout fails (the commit itself still completes). */
  readonly commitTimeoutMs: number;
  readonly analysisTimeoutMs: number;
  /** Commands not acknowledged within this are sent again to the agents that did not ack. */
  readonly resendMs: number;
  /** Per-agent transfer cap handed to the agents; also stretches the prepare timeout. */
  readonly bytesPerSecond?: number;
  /**
   * Forward layers in flight at once: the next layers stage while the oldest commits, so the
   * control round trips hide behind the transfers. 1 = strictly one layer after the other;
   * absent (older logs): 1. Agents share the transfer cap between the layers they stage.
   */
  readonly window?: number;
  /** After a failure: roll committed layers back in reverse order, or hold them. */
  readonly onFailure: 'rollback' | 'hold';
  /** Attempts to roll one layer back before giving up on it (it stays on the target version). */
  readonly maxRollbackAttempts: number;
  /**
   * Wait before the next attempt to roll a layer back, doubling per failed attempt (capped at a
   * minute): an attempt fails fast while an agent or its peer is down, and retrying at once would
   * spend every attempt before a restarted node is back. Absent (older logs): no wait.
   */
  readonly rollbackRetryMs?: number;
}

export const defaultRolloutOptions: RolloutOptions = {
  prepareTimeoutMs: 30_000,
  commitTimeoutMs: 10_000,
  analysisTimeoutMs: 600_000,
  resendMs: 2_000,
  onFailure: 'rollback',
  maxRollbackAttempts: 5,
  rollbackRetryMs: 1_000,
  window: 4,
};

/** Longest wait between two attempts to roll a layer back. */
const MAX_ROLLBACK_RETRY_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Commands (what decide asks for) and events (what the log holds)

export type RolloutCommand =
  /**
   * `repair`: the agent refused the layer's commit (its staged weights are gone); it stages the
   * part again, reading the incoming experts from the model checkpoint (its peers may have
   * swapped already), and then gets the commit again.
   */
  | { readonly kind: 'prepare'; readonly layer: number; readonly attempt: number; readonly agent: number; readonly part: AgentPlanPart; readonly bytesPerSecond?: number; readonly repair?: boolean }
  | { readonly kind: 'commit'; readonly layer: number; readonly attempt: number; readonly agent: number; readonly ranks: number[] }
  | { readonly kind: 'abort'; readonly layer: number; readonly attempt: number; readonly agent: number; readonly ranks: number[] }
  /** Ask the collector-backed analysis for a verdict on the batch's committed layers. */
  | { readonly kind: 'analyse'; readonly batch: number; readonly layers: number[] }
  /** A deadline passed (recorded so that replay does not need a clock). */
  | { readonly kind: 'expire'; readonly phase: 'prepare' | 'commit' | 'analysis'; readonly layer: number | null; readonly attempt: number };

export type RolloutAgentCommand = Extract<RolloutCommand, { kind: 'prepare' | 'commit' | 'abort' }>;
export const isRolloutAgentCommand = (c: RolloutCommand): c is RolloutAgentCommand => c.kind === 'prepare' || c.kind === 'commit' || c.kind === 'abort';

/** An agent's answer. `ranks` must be exactly the ranks the agent serves; `holdings` come with commit acks. */
export interface RolloutAck {
  readonly rolloutId: string;
  readonly layer: number;
  readonly attempt: number;
  readonly agent: number;
  readonly ranks: number[];
  readonly phase: 'prepare' | 'commit' | 'abort';
  readonly ok: boolean;
  readonly error?: string;
  readonly holdings?: LayerHoldings;
}

export type OperatorAction = 'pause' | 'resume' | 'abort' | 'promote';

interface RolloutEventMeta {
  /** Milliseconds since the epoch (or any monotonic clock the runner uses). */
  readonly at: number;
  readonly actor?: string;
  readonly reason?: string;
  readonly correlationId?: string;
}

export type RolloutEvent =
  | (RolloutEventMeta & { readonly type: 'created'; readonly plan: RolloutPlan; readonly options: RolloutOptions })
  | (RolloutEventMeta & { readonly type: 'decided'; readonly commands: RolloutCommand[] })
  | (RolloutEventMeta & { readonly type: 'ack'; readonly ack: RolloutAck })
  | (RolloutEventMeta & { readonly type: 'operator'; readonly action: OperatorAction; readonly rollback?: boolean })
  | (RolloutEventMeta & { readonly type: 'analysis'; readonly batch: number; readonly passed: boolean; readonly detail?: string })
  /** The service (re)started from the log: in-flight commands are re-sent, deadlines restart. */
  | (RolloutEventMeta & { readonly type: 'restarted' });

// ---------------------------------------------------------------------------------------------
// State

export interface LayerState {
  readonly layer: number;
  readonly status: LayerStatus;
  /** Version on every rank; null while a commit is in flight (ranks may differ until all ack). */
  readonly version: number | null;
  /** Last attempt (epoch) issued for this layer, forward and inverse alike; 0 = none. */
  readonly attempt: number;
  readonly direction: RolloutDirection | null;
  readonly phase: RolloutPhase | null;
  /** Agents that acked the current phase of the current attempt. */
  readonly acked: number[];
  readonly reports: LayerHoldings[];
  readonly phaseStartedAt: number;
  readonly sentAt: number;
  /** A failure was decided while this transition was preparing: ABORT is due. */
  readonly abortDue: boolean;
  readonly rollbackAttempts: number;
  readonly rollbackGaveUp: boolean;
  /** No new rollback attempt of this layer before this time (epoch ms; 0 = none due). */
  readonly rollbackRetryAt: number;
  readonly verifyError: string | null;
  readonly commitOverdue: boolean;
  /** While committing: agents that refused the commit and are staging the layer again. */
  readonly repairing: number[];
}

export interface IgnoredRolloutAck {
  readonly at: number;
  readonly agent: number;
  readonly layer: number;
  readonly attempt: number;
  readonly why: string;
}

export interface RolloutState {
  readonly plan: RolloutPlan;
  readonly options: RolloutOptions;
  readonly status: RolloutStatus;
  /** Where resume goes back to (RUNNING or ANALYSING) while PAUSED. */
  readonly resumeTo: 'RUNNING' | 'ANALYSING' | null;
  /** In plan order. */
  readonly layers: LayerState[];
  /** Index (into layers) of the oldest transition in flight: the only one that may commit. */
  readonly active: number | null;
  /**
   * Indexes of forward layers staging behind `active` (preparing or prepared, plan order): they
   * commit in turn once they become `active`. Empty whenever `active` is null.
   */
  readonly ahead: number[];
  readonly gate: { readonly batch: number; readonly requested: boolean; readonly since: number } | null;
  readonly gatesPassed: number[];
  readonly promoted: boolean;
  readonly failure: { readonly reason: string; readonly at: number } | null;
  readonly onFailure: 'rollback' | 'hold';
  /** Indexes of committed layers, in commit order. */
  readonly committedOrder: number[];
  readonly ignored: IgnoredRolloutAck[];
  readonly lastAt: number;
}

const idle = (layer: number, version: number): LayerState => ({
  layer,
  status: 'PENDING',
  version,
  attempt: 0,
  direction: null,
  phase: null,
  acked: [],
  reports: [],
  phaseStartedAt: 0,
  sentAt: 0,
  abortDue: false,
  rollbackAttempts: 0,
  rollbackGaveUp: false,
  rollbackRetryAt: 0,
  verifyError: null,
  commitOverdue: false,
  repairing: [],
});

export function initialState(plan: RolloutPlan, options: RolloutOptions, at: number): RolloutState {
  return {
    plan,
    options,
    status: 'RUNNING',
    resumeTo: null,
    // (plans recorded before per-layer versions existed have no l.fromVersion)
    layers: plan.layers.map((l) => idle(l.layer, l.fromVersion ?? plan.fromVersion)),
    active: null,
    ahead: [],
    gate: null,
    gatesPassed: [],
    promoted: false,
    failure: null,
    onFailure: options.onFailure,
    committedOrder: [],
    ignored: [],
    lastAt: at,
  };
}

const MAX_IGNORED = 100;

// ---------------------------------------------------------------------------------------------
// Reducer

/** Applies one event. Never throws on agent input: bad acks are ignored and listed in `ignored`. */
export function reduceRollout(state: RolloutState | null, ev: RolloutEvent): RolloutState {
  if (ev.type === 'created') {
    if (state) throw new Error('rollout already created');
    return settle(initialState(ev.plan, ev.options, ev.at), ev.at);
  }
  if (!state) throw new Error(`event ${ev.type} before created`);
  let s: RolloutState = { ...state, lastAt: Math.max(state.lastAt, ev.at) };
  switch (ev.type) {
    case 'decided':
      for (const c of ev.commands) s = applyDecision(s, c, ev.at);
      break;
    case 'ack':
      s = applyAck(s, ev.ack, ev.at);
      break;
    case 'operator':
      s = applyOperator(s, ev.action, ev.at, ev.rollback, ev.reason ?? ev.actor);
      break;
    case 'analysis':
      s = applyAnalysis(s, ev.batch, ev.passed, ev.at, ev.detail);
      break;
    case 'restarted':
      s = applyRestart(s, ev.at);
      break;
  }
  return settle(s, ev.at);
}

/**
 * The event as the log keeps it: a prepare's plan part is in the plan (the `created` event) and
 * the reducer never reads it from a decision, so the log records which part (layer, agent,
 * attempt) without copying it — a layer's parts are tens of kB of JSON. Replaying compacted
 * events gives the same state (property-tested).
 */
export function compactRolloutEvent(e: RolloutEvent): RolloutEvent {
  if (e.type !== 'decided') return e;
  const commands = e.commands.map((c) => {
    if (c.kind !== 'prepare') return c;
    const { part: _part, ...which } = c;
    return which as RolloutCommand;
  });
  return { ...e, commands };
}

/** Rebuilds the state from the event log (the first event must be `created`). */
export function replayRollout(events: readonly RolloutEvent[]): RolloutState {
  let s: RolloutState | null = null;
  for (const ev of events) s = reduceRollout(s, ev);
  if (!s) throw new Error('empty event log');
  return s;
}

const setLayer = (s: RolloutState, i: number, patch: Partial<LayerState>): RolloutState => {
  const layers = s.layers.slice();
  layers[i] = { ...layers[i], ...patch };
  return { ...s, layers };
};

const indexOf = (s: RolloutState, layer: number): number => s.layers.findIndex((l) => l.layer === layer);

const partsOf = (s: RolloutState, i: number, dir: RolloutDirection): AgentPlanPart[] =>
  dir === 'forward' ? s.plan.layers[i].forward : s.plan.layers[i].inverse;

const fail = (s: RolloutState, reason: string, at: number): RolloutState => {
  if (s.failure) return s;
  let out: RolloutState = {
    ...s,
    failure: { reason, at },
    gate: null,
    resumeTo: null,
    status: s.onFailure === 'rollback' ? 'ROLLING_BACK' : s.status,
  };
  for (const i of inFlight(s)) {
    const l = s.layers[i];
    if (l.direction === 'forward' && (l.phase === 'preparing' || l.phase === 'prepared')) {
      out = setLayer(out, i, { abortDue: true });
    }
  }
  return out;
};

/** Indexes of the transitions in flight, oldest (the one that commits next) first. */
export const inFlight = (s: RolloutState): number[] => (s.active === null ? [] : [s.active, ...s.ahead]);

/** The rollout with layer `i`'s transition no longer in flight: the next one behind it becomes the oldest. */
const landed = (s: RolloutState, i: number): RolloutState =>
  s.active === i ? { ...s, active: s.ahead[0] ?? null, ahead: s.ahead.slice(1) } : { ...s, ahead: s.ahead.filter((k) => k !== i) };

function applyDecision(s: RolloutState, c: RolloutCommand, at: number): RolloutState {
  switch (c.kind) {
    case 'prepare': {
      const i = indexOf(s, c.layer);
      if (i < 0) return s;
      const l = s.layers[i];
      if (c.attempt > l.attempt) {
        // a new transition: forward from PENDING, inverse from COMMITTED
        const dir: RolloutDirection = l.status === 'PENDING' ? 'forward' : 'inverse';
        return {
          ...setLayer(s, i, {
            status: dir === 'forward' ? 'PREPARING' : 'ROLLING_BACK',
            attempt: c.attempt,
            direction: dir,
            phase: 'preparing',
            acked: [],
            reports: [],
            phaseStartedAt: at,
            sentAt: at,
            abortDue: false,
            commitOverdue: false,
            repairing: [],
          }),
          ...(s.active === null ? { active: i } : { ahead: [...s.ahead, i] }),
        };
      }
      return c.attempt === l.attempt ? setLayer(s, i, { sentAt: at }) : s;
    }
    case 'commit': {
      const i = indexOf(s, c.layer);
      if (i < 0) return s;
      const l = s.layers[i];
      if (c.attempt !== l.attempt) return s;
      if (l.phase === 'prepared') {
        return setLayer(s, i, {
          status: l.direction === 'forward' ? 'COMMITTING' : 'ROLLING_BACK',
          phase: 'committing',
          version: null,
          acked: [],
          reports: [],
          phaseStartedAt: at,
          sentAt: at,
        });
      }
      return l.phase === 'committing' ? setLayer(s, i, { sentAt: at }) : s;
    }
    case 'abort': {
      const i = indexOf(s, c.layer);
      if (i < 0) return s;
      const l = s.layers[i];
      if (c.attempt !== l.attempt || (l.phase !== 'preparing' && l.phase !== 'prepared')) return s;
      // Nothing was committed: every rank still serves the layer's previous version.
      const forward = l.direction === 'forward';
      const attempts = forward ? l.rollbackAttempts : l.rollbackAttempts + 1;
      return landed(
        setLayer(s, i, {
          status: forward ? 'ABORTED' : 'COMMITTED',
          version: forward ? (s.plan.layers[i].fromVersion ?? s.plan.fromVersion) : s.plan.toVersion,
          direction: null,
          phase: null,
          acked: [],
          abortDue: false,
          rollbackAttempts: attempts,
          rollbackGaveUp: !forward && attempts >= s.options.maxRollbackAttempts,
          rollbackRetryAt: forward ? l.rollbackRetryAt : at + rollbackBackoffMs(s.options, attempts),
        }),
        i,
      );
    }
    case 'analyse':
      return s.gate && s.gate.batch === c.batch ? { ...s, gate: { ...s.gate, requested: true, since: at } } : s;
    case 'expire': {
      if (c.phase === 'analysis') {
        return s.gate ? fail(s, `analysis of batch ${s.gate.batch} timed out`, at) : s;
      }
      const i = c.layer === null ? -1 : indexOf(s, c.layer);
      if (i < 0 || s.layers[i].attempt !== c.attempt) return s;
      const l = s.layers[i];
      if (c.phase === 'commit') {
        if (l.phase !== 'committing') return s;
        return fail(setLayer(s, i, { commitOverdue: true }), `layer ${l.layer}: commit not acknowledged by every agent in time`, at);
      }
      if (l.phase !== 'preparing') return s;
      if (l.direction === 'inverse') return setLayer(s, i, { abortDue: true });
      return fail(s, `layer ${l.layer}: prepare timed out (agents ${missing(s, l).join(', ')} did not ack)`, at);
    }
  }
}

const missing = (s: RolloutState, l: LayerState): number[] =>
  Array.from({ length: s.plan.agents }, (_, a) => a).filter((a) => !l.acked.includes(a));

const ignore = (s: RolloutState, ack: RolloutAck, at: number, why: string): RolloutState => ({
  ...s,
  ignored: [...s.ignored.slice(-(MAX_IGNORED - 1)), { at, agent: ack.agent, layer: ack.layer, attempt: ack.attempt, why }],
});

/** An agent may only speak for exactly the ranks it serves. */
export function ackIdentityError(shape: DeploymentShape, ack: RolloutAck): string | null {
  if (!Number.isInteger(ack.agent) || ack.agent < 0 || ack.agent >= shape.numNodes) return `agent ${String(ack.agent)} is not an agent of the deployment`;
  const ranks = Array.isArray(ack.ranks) ? ack.ranks : [];
  if (!isAgentRanks(shape, ack.agent, ranks)) {
    return `agent ${ack.agent} acked for ranks [${ranks.join(',')}], it serves [${ranksOfAgent(shape, ack.agent).join(',')}]`;
  }
  if (ack.holdings) {
    const hr = ack.holdings.ranks.map((r) => r.rank);
    if (ack.holdings.layer !== ack.layer || !isAgentRanks(shape, ack.agent, hr)) {
      return `agent ${ack.agent} reported holdings for other ranks or layers`;
    }
  }
  return null;
}

/**
 * Why an ack adds nothing to the rollout, or null when it may: another rollout's, an abort's
 * (an aborted layer needs none), an attempt not in flight, or an agent's second answer to the
 * phase in flight — a duplicate or a replay. The rollout service records only acks that may
 * change the state; an ack naming ranks or layers it should not still is (what it says about
 * the agent belongs in the audit trail).
 */
export function ackWithoutNews(s: RolloutState, ack: RolloutAck): string | null {
  if (ack.rolloutId !== s.plan.rolloutId) return `rollout ${ack.rolloutId} is not ${s.plan.rolloutId}`;
  const i = indexOf(s, ack.layer);
  if (i < 0 || ackIdentityError(s.plan.shape, ack)) return null;
  const l = s.layers[i];
  if (ack.phase === 'abort') return 'abort acks are informational';
  const flying = inFlight(s).includes(i);
  if (!flying || ack.attempt !== l.attempt) return `stale: attempt ${ack.attempt}, layer is at ${l.attempt}${flying ? '' : ' and not in flight'}`;
  if (ack.phase === 'prepare' && l.phase === 'prepared') return 'duplicate: the layer is prepared';
  if (ack.phase === 'prepare' && l.phase === 'committing' && !l.repairing.includes(ack.agent)) return 'duplicate: the layer is committing';
  if (ack.phase === (l.phase === 'committing' ? 'commit' : 'prepare') && l.acked.includes(ack.agent)) return 'duplicate';
  return null;
}

function applyAck(s: RolloutState, ack: RolloutAck, at: number): RolloutState {
  if (ack.rolloutId !== s.plan.rolloutId) return ignore(s, ack, at, `rollout ${ack.rolloutId} is not ${s.plan.rolloutId}`);
  const who = ackIdentityError(s.plan.shape, ack);
  if (who) return ignore(s, ack, at, who);
  const i = indexOf(s, ack.layer);
  if (i < 0) return ignore(s, ack, at, `layer ${ack.layer} is not part of the rollout`);
  const l = s.layers[i];
  if (ack.phase === 'abort') return s; // informational: an aborted layer needs no ack
  const flying = inFlight(s).includes(i);
  if (!flying || ack.attempt !== l.attempt) return ignore(s, ack, at, `stale: attempt ${ack.attempt}, layer is at ${l.attempt}${flying ? '' : ' and not in flight'}`);
  if (l.phase === 'committing' && ack.phase === 'prepare' && l.repairing.includes(ack.agent)) {
    // the refusing agent staged the layer again: its commit is due at once
    if (!ack.ok) return ignore(s, ack, at, `agent ${ack.agent} failed to stage layer ${l.layer} again: ${ack.error ?? 'no reason given'}; retrying`);
    return setLayer(s, i, { repairing: l.repairing.filter((a) => a !== ack.agent), sentAt: at - s.options.resendMs });
  }
  const want = l.phase === 'committing' ? 'commit' : 'prepare';
  if (ack.phase !== want || l.phase === 'prepared') return ignore(s, ack, at, `${ack.phase} ack while ${l.phase}`);
  if (l.acked.includes(ack.agent)) return ignore(s, ack, at, 'duplicate');

  if (ack.phase === 'prepare') {
    if (!ack.ok) {
      if (l.direction === 'inverse') return setLayer(s, i, { abortDue: true });
      return fail(s, `layer ${l.layer}: agent ${ack.agent} failed to prepare: ${ack.error ?? 'no reason given'}`, at);
    }
    const acked = [...l.acked, ack.agent].sort((a, b) => a - b);
    const done = acked.length === s.plan.agents;
    return setLayer(s, i, {
      acked,
      ...(done ? { phase: 'prepared' as const, status: l.direction === 'forward' ? ('PREPARED' as const) : ('ROLLING_BACK' as const), acked: [] } : {}),
    });
  }

  // commit ack
  if (!ack.ok || !ack.holdings) {
    // The commit cannot be taken back once any agent may have swapped: the refusing agent stages
    // the layer again (repair prepare) and gets the commit again; the others keep theirs.
    const refused = ignore(s, ack, at, `commit refused by agent ${ack.agent}: ${ack.error ?? 'no holdings reported'}; staging it again`);
    if (l.repairing.includes(ack.agent)) return refused;
    // (sentAt moved back: the repair prepare is due at once)
    return setLayer(refused, i, { repairing: [...l.repairing, ack.agent].sort((a, b) => a - b), sentAt: at - s.options.resendMs });
  }
  const acked = [...l.acked, ack.agent].sort((a, b) => a - b);
  const reports = [...l.reports, ack.holdings];
  if (acked.length < s.plan.agents) return setLayer(s, i, { acked, reports });

  // every agent swapped: the layer is on one version again
  const parts = partsOf(s, i, l.direction as RolloutDirection);
  const manifest = s.plan.checksums?.[l.layer];
  const verifyError = verifyHoldings(s.plan.shape, parts[0], reports, manifest);
  const forward = l.direction === 'forward';
  let out = setLayer(s, i, {
    status: forward ? 'COMMITTED' : 'ROLLED_BACK',
    version: parts[0].version,
    direction: null,
    phase: null,
    acked: [],
    reports,
    verifyError,
    repairing: [],
  });
  out = {
    ...landed(out, i),
    committedOrder: forward ? [...out.committedOrder, i] : out.committedOrder.filter((k) => k !== i),
  };
  if (verifyError) out = fail(out, `layer ${l.layer}: holdings do not match version ${parts[0].version}: ${verifyError}`, at);
  if (forward && !out.failure) out = openGate(out, i, at);
  return out;
}

/** After the last layer of a gated batch commits, the rollout waits for the analysis verdict. */
function openGate(s: RolloutState, i: number, at: number): RolloutState {
  const batch = s.plan.batches.find((b) => b.layers[b.layers.length - 1] === s.layers[i].layer);
  if (!batch || !batch.analysis || s.promoted) return s;
  return {
    ...s,
    gate: { batch: batch.index, requested: false, since: at },
    status: s.status === 'PAUSED' ? 'PAUSED' : 'ANALYSING',
    resumeTo: s.status === 'PAUSED' ? 'ANALYSING' : s.resumeTo,
  };
}

function applyAnalysis(s: RolloutState, batch: number, passed: boolean, at: number, detail?: string): RolloutState {
  if (!s.gate || s.gate.batch !== batch || s.failure) return s;
  if (!passed) return fail(s, `analysis of batch ${batch} failed${detail ? `: ${detail}` : ''}`, at);
  return {
    ...s,
    gate: null,
    gatesPassed: [...s.gatesPassed, batch],
    status: s.status === 'ANALYSING' ? 'RUNNING' : s.status,
    resumeTo: s.resumeTo === 'ANALYSING' ? 'RUNNING' : s.resumeTo,
  };
}

function applyOperator(s: RolloutState, action: OperatorAction, at: number, rollback?: boolean, why?: string): RolloutState {
  if (isRolloutTerminal(s)) return s;
  switch (action) {
    case 'pause':
      if (s.status === 'RUNNING' || s.status === 'ANALYSING') return { ...s, status: 'PAUSED', resumeTo: s.status };
      return s;
    case 'resume':
      if (s.status === 'PAUSED') return { ...s, status: s.resumeTo ?? 'RUNNING', resumeTo: null };
      return s;
    case 'promote': {
      const out: RolloutState = { ...s, promoted: true };
      if (s.failure) return out;
      if (s.status === 'ANALYSING') return { ...out, gate: null, status: 'RUNNING' };
      if (s.status === 'PAUSED' && s.resumeTo === 'ANALYSING') return { ...out, gate: null, resumeTo: 'RUNNING' };
      return { ...out, gate: null };
    }
    case 'abort': {
      const policy = rollback === undefined ? s.onFailure : rollback ? 'rollback' : 'hold';
      const out = fail({ ...s, onFailure: policy }, `aborted by operator${why ? ` (${why})` : ''}`, at);
      return { ...out, onFailure: policy };
    }
  }
}

function applyRestart(s: RolloutState, at: number): RolloutState {
  let out: RolloutState = s;
  for (const i of inFlight(s)) out = setLayer(out, i, { sentAt: Number.NEGATIVE_INFINITY, phaseStartedAt: at });
  if (out.gate) out = { ...out, gate: { ...out.gate, requested: false, since: at } };
  return out;
}

/** Moves the rollout-level status once nothing is in flight. */
function settle(s: RolloutState, at: number): RolloutState {
  if (isRolloutTerminal(s) || s.active !== null) return s;
  if (s.failure) {
    if (s.onFailure === 'hold') return { ...s, status: 'ABORTED', resumeTo: null };
    const left = rollbackQueue(s);
    if (left.length > 0) return s.status === 'ROLLING_BACK' ? s : { ...s, status: 'ROLLING_BACK', resumeTo: null };
    const clean = s.layers.every((l) => l.status !== 'COMMITTED' && !(l.status === 'ROLLED_BACK' && l.verifyError));
    return { ...s, status: clean ? 'ROLLED_BACK' : 'ABORTED', resumeTo: null };
  }
  if (s.layers.every((l) => l.status === 'COMMITTED') && !s.gate) return { ...s, status: 'SUCCEEDED', resumeTo: null };
  void at;
  return s;
}

/** The wait after the `failed`-th failed attempt to roll a layer back: base · 2^(failed−1), capped. */
const rollbackBackoffMs = (o: RolloutOptions, failed: number): number =>
  o.rollbackRetryMs ? Math.min(MAX_ROLLBACK_RETRY_MS, o.rollbackRetryMs * 2 ** Math.max(0, failed - 1)) : 0;

/** Committed layers still to roll back, newest commit first. */
export const rollbackQueue = (s: RolloutState): number[] =>
  s.committedOrder
    .slice()
    .reverse()
    .filter((i) => s.layers[i].status === 'COMMITTED' && !s.layers[i].rollbackGaveUp);

// ---------------------------------------------------------------------------------------------
// Decisions

/**
 * Prepare deadline of a layer: the base plus the largest inflow at the byte cap — forward, the
 * inflow of the window up to it, as the agents share the cap among the layers they stage and
 * take the earlier ones' bytes first.
 */
export function prepareDeadlineMs(s: RolloutState, i: number, dir: RolloutDirection): number {
  const cap = s.options.bytesPerSecond;
  if (!cap) return s.options.prepareTimeoutMs;
  const from = dir === 'forward' ? Math.max(0, i - windowOf(s) + 1) : i;
  let inflow = 0;
  for (let k = from; k <= i; k++) inflow += Math.max(0, ...partsOf(s, k, dir).map((p) => p.bytesIn));
  return s.options.prepareTimeoutMs + Math.ceil((inflow * 1000) / cap);
}

/** Forward layers that may be in flight at once. */
const windowOf = (s: RolloutState): number => Math.max(1, Math.floor(s.options.window ?? 1));

/**
 * What to do now. Pure: the same state and time give the same commands; after the runner records
 * them (`decided`) and applies that event, `decide` at the same time returns nothing more until
 * an event arrives or time passes (the runner may call it in a loop; see `advance`).
 */
export function decideRollout(s: RolloutState, now: number): RolloutCommand[] {
  if (isRolloutTerminal(s)) return [];
  const flying = inFlight(s);
  // deadlines alone first: an expiry may fail the rollout, which changes what else is due
  const expired = flying.flatMap((i) => expiry(s, i, now));
  if (expired.length > 0) return expired;
  const out = flying.flatMap((i) => transitionCommands(s, i, now));
  if (s.failure) {
    if (flying.length > 0 || s.onFailure !== 'rollback') return out;
    const q = rollbackQueue(s);
    if (q.length === 0) return [];
    const i = q[0];
    const l = s.layers[i];
    if (now < l.rollbackRetryAt) return [];
    return s.plan.layers[i].inverse.map((p) => prepareCommand(s, l.layer, l.attempt + 1, p));
  }
  if (s.status === 'ANALYSING' && s.gate) {
    if (!s.gate.requested) {
      const batch = s.plan.batches[s.gate.batch];
      return [...out, { kind: 'analyse', batch: batch.index, layers: batch.layers }];
    }
    if (now - s.gate.since >= s.options.analysisTimeoutMs) return [...out, { kind: 'expire', phase: 'analysis', layer: null, attempt: 0 }];
    return out;
  }
  return [...out, ...nextPrepares(s, flying)];
}

/** A deadline of transition `i` that has passed (none while its abort is due). */
function expiry(s: RolloutState, i: number, now: number): RolloutCommand[] {
  const l = s.layers[i];
  if (l.abortDue) return [];
  if (l.phase === 'preparing' && now - l.phaseStartedAt >= prepareDeadlineMs(s, i, l.direction as RolloutDirection)) {
    return [{ kind: 'expire', phase: 'prepare', layer: l.layer, attempt: l.attempt }];
  }
  if (l.phase === 'committing' && !l.commitOverdue && now - l.phaseStartedAt >= s.options.commitTimeoutMs) {
    return [{ kind: 'expire', phase: 'commit', layer: l.layer, attempt: l.attempt }];
  }
  return [];
}

/** The commands transition `i` needs now: its abort, resends, or — the oldest in flight only — its commit. */
function transitionCommands(s: RolloutState, i: number, now: number): RolloutCommand[] {
  const l = s.layers[i];
  const dir = l.direction as RolloutDirection;
  const parts = partsOf(s, i, dir);
  const all = Array.from({ length: s.plan.agents }, (_, a) => a);
  const resendDue = now - l.sentAt >= s.options.resendMs;
  if (l.abortDue) return all.map((a) => ({ kind: 'abort', layer: l.layer, attempt: l.attempt, agent: a, ranks: parts[a].ranks }));
  switch (l.phase) {
    case 'preparing':
      return resendDue ? missing(s, l).map((a) => prepareCommand(s, l.layer, l.attempt, parts[a])) : [];
    case 'prepared':
      // commits go in plan order, one at a time; forward: none while paused or after a failure
      // (the abort is due then); inverse: always
      if (i !== s.active || (dir === 'forward' && (s.status === 'PAUSED' || s.failure))) return [];
      return all.map((a) => ({ kind: 'commit', layer: l.layer, attempt: l.attempt, agent: a, ranks: parts[a].ranks }));
    case 'committing':
      if (!resendDue) return [];
      return missing(s, l).map((a) =>
        l.repairing.includes(a) ? prepareCommand(s, l.layer, l.attempt, parts[a], true) : { kind: 'commit', layer: l.layer, attempt: l.attempt, agent: a, ranks: parts[a].ranks },
      );
    default:
      return [];
  }
}

/**
 * Prepares of the next pending layers while the window has room: running, no failure, nothing
 * rolling back, and never past a batch whose analysis has not passed (its layers are staged only
 * once the gate before them is through).
 */
function nextPrepares(s: RolloutState, flying: number[]): RolloutCommand[] {
  if (s.status !== 'RUNNING' || flying.some((i) => s.layers[i].direction !== 'forward')) return [];
  let room = windowOf(s) - flying.length;
  const out: RolloutCommand[] = [];
  for (let j = 0; j < s.layers.length && room > 0; j++) {
    const l = s.layers[j];
    if (l.status !== 'PENDING') continue;
    if (gateBefore(s, j)) break;
    out.push(...s.plan.layers[j].forward.map((p) => prepareCommand(s, l.layer, l.attempt + 1, p)));
    room--;
  }
  return out;
}

/** Whether a batch with an analysis gate not yet passed (nor promoted past) ends before plan position `j`. */
function gateBefore(s: RolloutState, j: number): boolean {
  if (s.promoted) return false;
  let end = -1;
  for (const b of s.plan.batches) {
    end += b.layers.length;
    if (end >= j) return false;
    if (b.analysis && !s.gatesPassed.includes(b.index)) return true;
  }
  return false;
}

const prepareCommand = (s: RolloutState, layer: number, attempt: number, part: AgentPlanPart, repair = false): RolloutCommand => ({
  kind: 'prepare',
  layer,
  attempt,
  agent: part.agent,
  part,
  ...(s.options.bytesPerSecond ? { bytesPerSecond: s.options.bytesPerSecond } : {}),
  ...(repair ? { repair: true } : {}),
});

/**
 * Runs decide → record → apply until nothing more is decided at `now` (bounded). Returns the new
 * state, the events to append (in order, before sending) and the agent commands to send.
 */
export function advanceRollout(s: RolloutState, now: number, meta: Omit<RolloutEventMeta, 'at'> = {}): { state: RolloutState; events: RolloutEvent[]; send: RolloutAgentCommand[] } {
  const events: RolloutEvent[] = [];
  const send: RolloutAgentCommand[] = [];
  for (let k = 0; k < 16; k++) {
    const commands = decideRollout(s, now);
    if (commands.length === 0) break;
    const ev: RolloutEvent = { type: 'decided', at: now, commands, ...meta };
    events.push(ev);
    s = reduceRollout(s, ev);
    for (const c of commands) if (isRolloutAgentCommand(c)) send.push(c);
  }
  return { state: s, events, send };
}

/**
 * Splits a step's agent commands into those that may go out before the step's events are on
 * record and those that must wait for the write. A prepare only stages: if the service dies
 * before recording it, its replacement decides the same prepare again (same attempt, same part)
 * and the agents answer from their ledgers — so a step of prepares alone sends them at once, and
 * the agents stage while the write runs. A commit or abort changes what ranks serve (or give up):
 * it waits, and so do the prepares decided beside it — they are of layers later in the window
 * (or a retry of the layer aborted, which the agent must see after its abort), so waiting costs
 * them nothing on the rollout's path, and each agent gets its whole step in one write.
 */
export function beforeRecord(send: readonly RolloutAgentCommand[]): { early: RolloutAgentCommand[]; afterRecord: RolloutAgentCommand[] } {
  const decisive = send.some((c) => c.kind !== 'prepare');
  return decisive ? { early: [], afterRecord: send.slice() } : { early: send.slice(), afterRecord: [] };
}

// ---------------------------------------------------------------------------------------------
// Audit

export interface LayerVersion {
  readonly layer: number;
  readonly status: LayerStatus;
  /** null only while a commit is in flight. verifyError: what the last commit's holdings check found. */
  readonly version: number | null;
  readonly verifyError: string | null;
}

/** Per changed layer, the version every rank is on (as the event log says). */
export const layerVersions = (s: RolloutState): LayerVersion[] =>
  s.layers.map((l) => ({ layer: l.layer, status: l.status, version: l.version, verifyError: l.verifyError }));

/** A one-object summary for APIs and logs. */
export function rolloutSummary(s: RolloutState) {
  return {
    rolloutId: s.plan.rolloutId,
    deployment: s.plan.deployment,
    fromVersion: s.plan.fromVersion,
    toVersion: s.plan.toVersion,
    status: s.status,
    failure: s.failure,
    onFailure: s.onFailure,
    promoted: s.promoted,
    gate: s.gate,
    active: s.active === null ? null : s.layers[s.active].layer,
    /** Every layer in flight, the oldest (the one committing next) first. */
    inFlight: inFlight(s).map((i) => s.layers[i].layer),
    layers: layerVersions(s),
    ignoredAcks: s.ignored.length,
  };
}
