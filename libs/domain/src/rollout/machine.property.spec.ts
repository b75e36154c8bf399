import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeploymentShape } from '../shape/deployment-shape';
import { FakeAgent, clusterLayer, fakeChecksum } from '../../test/fake-cluster';
import {
  RolloutAck,
  RolloutAgentCommand,
  RolloutEvent,
  RolloutState,
  advanceRollout,
  defaultRolloutOptions,
  isRolloutTerminal,
  reduceRollout,
  replayRollout,
  compactRolloutEvent,
} from './machine';
import { BatchStep, planRollout } from './plan';

/**
 * Random fault sequences against the rollout state machine and in-memory agents: lost, duplicated,
 * delayed and reordered messages, hung agents, failing prepares, corrupted weights, staged weights
 * lost before a commit (repair), stale and
 * impersonating acks, operator actions, analysis verdicts (or none), and service crashes with
 * rebuild from the event log at random points (including between recording and sending).
 * After a fault phase the network calms down; the rollout must then end, and at every point a layer
 * not in the middle of its commit is on one version on every rank — the one the log says.
 */

const scenarioArb = fc
  .record({
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    R: fc.constantFrom(2, 4, 6),
    S: fc.integer({ min: 1, max: 3 }),
    L: fc.integer({ min: 1, max: 6 }),
    /** Layers in flight at once (1: one after the other). */
    window: fc.constantFrom(1, 2, 3, 5),
    nodesPick: fc.nat(),
    ePick: fc.nat(),
    drop: fc.constantFrom(0, 0.05, 0.2),
    dup: fc.constantFrom(0, 0.1, 0.3),
    maxDelay: fc.constantFrom(1, 30, 200),
    crash: fc.constantFrom(0, 0.02, 0.1),
    hang: fc.constantFrom(0, 0.02, 0.05),
    failPrepare: fc.constantFrom(0, 0.05, 0.2),
    corrupt: fc.constantFrom(0, 0.05),
    loseStaged: fc.constantFrom(0, 0.05, 0.2),
    forge: fc.constantFrom(0, 0.1, 0.3),
    operator: fc.constantFrom(0, 0.01, 0.05),
    gates: fc.boolean(),
    pass: fc.constantFrom(0, 0.7, 1),
    hold: fc.boolean(),
  })
  .map((p) => {
    const P = p.R * p.S;
    const E = Math.max(1, Math.min(P, 1 + (p.ePick % P)));
    const divisors = [1, 2, 3, 6].filter((d) => p.R % d === 0);
    const shape: DeploymentShape = { numLayers: p.L, numExperts: E, numRanks: p.R, slotsPerRank: p.S, numNodes: divisors[p.nodesPick % divisors.length] };
    return { ...p, shape };
  });

type Scenario = ReturnType<typeof scenarioArb extends fc.Arbitrary<infer T> ? () => T : never>;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

type Msg =
  | { at: number; kind: 'cmd'; cmd: RolloutAgentCommand }
  | { at: number; kind: 'ack'; ack: RolloutAck }
  | { at: number; kind: 'analysis'; batch: number; passed: boolean };

function runScenario(sc: Scenario): { state: RolloutState; events: RolloutEvent[]; agents: FakeAgent[]; current: number[][]; target: number[][]; impersonations: number; overlapped: boolean } {
  const rnd = rng(sc.seed);
  const { shape } = sc;
  const P = shape.numRanks * shape.slotsPerRank;
  const E = shape.numExperts;
  const randomRow = (): number[] => {
    const row = Array.from({ length: P }, (_, p) => (p < E ? p : Math.floor(rnd() * E)));
    for (let i = P - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [row[i], row[j]] = [row[j], row[i]];
    }
    return row;
  };
  const current = Array.from({ length: shape.numLayers }, randomRow);
  const target = current.map((row) => (rnd() < 0.2 ? row.slice() : randomRow()));
  const steps: BatchStep[] = sc.gates ? [{ layers: 1, analysis: true }, { layers: 2, analysis: true }, 'rest'] : [1, 'rest'];
  // the model's manifest: without it a corrupted expert that has a single replica goes unnoticed
  const checksums = current.map((_, l) => Array.from({ length: E }, (_, e) => fakeChecksum(l, e)));
  const plan = planRollout({ rolloutId: 'ro', deployment: 'd', shape, fromVersion: 7, toVersion: 8, current, target, expertBytes: 1, steps, gain: current.map(() => rnd()), checksums });
  const options = { ...defaultRolloutOptions, prepareTimeoutMs: 400, commitTimeoutMs: 300, analysisTimeoutMs: 500, resendMs: 60, onFailure: sc.hold ? ('hold' as const) : ('rollback' as const), maxRollbackAttempts: 3, window: sc.window };
  const agents = Array.from({ length: shape.numNodes }, (_, a) => new FakeAgent(shape, a, 'ro', current, 7));

  const FAULT_UNTIL = 3000;
  let now = 0;
  let calm = false;
  const hungUntil = new Array<number>(shape.numNodes).fill(-1);
  for (const a of agents) {
    a.failPrepare = () => !calm && rnd() < sc.failPrepare;
    a.corruptCommit = () => !calm && rnd() < sc.corrupt;
    a.loseStaged = () => !calm && rnd() < sc.loseStaged;
  }
  const events: RolloutEvent[] = [];
  let state = reduceRollout(null, { type: 'created', at: now, plan, options });
  events.push({ type: 'created', at: now, plan, options });
  const apply = (ev: RolloutEvent) => {
    events.push(ev);
    state = reduceRollout(state, ev);
  };
  const net: Msg[] = [];
  const seenAcks: RolloutAck[] = [];
  let impersonations = 0;
  const enqueue = (m: Msg) => {
    if (!calm && rnd() < sc.drop) return;
    net.push({ ...m, at: m.at + (calm ? 1 : 1 + Math.floor(rnd() * sc.maxDelay)) });
    if (!calm && rnd() < sc.dup) net.push({ ...m, at: m.at + 1 + Math.floor(rnd() * sc.maxDelay * 2) });
  };

  let overlapped = false;
  const check = () => {
    checkInvariants(state, agents, current, target, plan.fromVersion, plan.toVersion);
    checkWindow(state, sc.window);
    if (state.ahead.length > 0 && state.layers[state.active!].phase === 'committing') overlapped = true;
  };

  for (let it = 0; it < 20_000; it++) {
    now += 1 + Math.floor(rnd() * 20);
    if (!calm && now > FAULT_UNTIL) {
      calm = true;
      if (state.status === 'PAUSED') apply({ type: 'operator', at: now, action: 'resume', actor: 'test' });
    }
    // the service: decide, record, maybe crash before sending, send
    if (!calm && rnd() < sc.crash) {
      state = replayRollout(events);
      apply({ type: 'restarted', at: now });
    }
    const step = advanceRollout(state, now);
    events.push(...step.events);
    state = step.state;
    for (const ev of step.events) {
      if (ev.type !== 'decided') continue;
      for (const c of ev.commands) {
        if (c.kind !== 'analyse') continue;
        if (calm || rnd() < 0.8) net.push({ at: now + 1 + Math.floor(rnd() * 100), kind: 'analysis', batch: c.batch, passed: calm ? true : rnd() < sc.pass });
      }
    }
    if (!calm && rnd() < sc.crash) {
      // crashed after recording, before sending: the rebuilt service must send again
      state = replayRollout(events);
      apply({ type: 'restarted', at: now });
    } else {
      for (const c of step.send) enqueue({ at: now, kind: 'cmd', cmd: c });
    }
    // the network and the agents
    net.sort((a, b) => a.at - b.at);
    while (net.length > 0 && net[0].at <= now) {
      const m = net.shift() as Msg;
      if (m.kind === 'cmd') {
        if (!calm && rnd() < sc.hang) hungUntil[m.cmd.agent] = now + Math.floor(rnd() * 600);
        if (hungUntil[m.cmd.agent] >= now && !calm) continue;
        const ack = agents[m.cmd.agent].handle(m.cmd);
        if (ack) {
          seenAcks.push(ack);
          enqueue({ at: now, kind: 'ack', ack });
        }
      } else if (m.kind === 'ack') {
        apply({ type: 'ack', at: now, ack: m.ack });
      } else {
        apply({ type: 'analysis', at: now, batch: m.batch, passed: m.passed });
      }
      check();
    }
    // stale replays and impersonation
    if (!calm && seenAcks.length > 0 && rnd() < sc.forge) {
      const a = seenAcks[Math.floor(rnd() * seenAcks.length)];
      const other = (a.agent + 1) % shape.numNodes;
      const kind = Math.floor(rnd() * 4);
      const forged: RolloutAck =
        kind === 0
          ? a // a stale or duplicate replay
          : kind === 1
            ? { ...a, agent: other } // another agent claiming these ranks
            : kind === 2
              ? { ...a, attempt: a.attempt + 1, agent: other } // a guessed epoch, wrong agent
              : { ...a, phase: a.phase === 'prepare' ? 'commit' : 'prepare' };
      if (kind === 0 || other !== a.agent) {
        const before = state;
        apply({ type: 'ack', at: now, ack: forged });
        if (forged.agent !== a.agent) {
          // an agent speaking for ranks it does not serve: ignored for that reason, and nothing else
          // changes (no ack counted, no phase moved)
          impersonations++;
          expect(state.ignored).not.toBe(before.ignored);
          expect(state.ignored[state.ignored.length - 1]).toEqual({ at: now, agent: other, layer: a.layer, attempt: forged.attempt, why: expect.stringMatching(/^agent \d+ acked for ranks \[[\d,]*\], it serves/) });
          expect({ ...state, ignored: before.ignored, lastAt: before.lastAt }).toEqual(before);
        }
      }
    }
    if (!calm && rnd() < sc.operator) {
      const action = (['pause', 'resume', 'promote', 'abort'] as const)[Math.floor(rnd() * 4)];
      apply({ type: 'operator', at: now, action, actor: 'test', ...(action === 'abort' ? { rollback: rnd() < 0.5 } : {}) });
    }
    check();
    if (calm && isRolloutTerminal(state) && net.length === 0) break;
  }
  if (process.env.DEBUG_ROLLOUT) console.log(JSON.stringify({ now, status: state.status, events: events.length }));
  return { state, events, agents, current, target, impersonations, overlapped };
}

function checkInvariants(state: RolloutState, agents: FakeAgent[], current: number[][], target: number[][], from: number, to: number): void {
  for (const l of state.layers) {
    const truth = clusterLayer(agents, l.layer);
    if (truth.versions.some((v) => v !== from && v !== to)) throw new Error(`layer ${l.layer}: unknown version in ${truth.versions.join(',')}`);
    if (l.version === null) continue; // its commit is being acknowledged
    // not mid-commit: one version on every rank, the one the state says, with that version's experts
    if (truth.versions.some((v) => v !== l.version)) throw new Error(`layer ${l.layer} mixed: ${truth.versions.join(',')} while the log says ${l.version} (${l.status})`);
    const want = l.version === to ? target[l.layer] : current[l.layer];
    if (truth.row.some((e, p) => e !== want[p])) throw new Error(`layer ${l.layer}: ranks hold ${truth.row.join(',')}, version ${l.version} is ${want.join(',')}`);
  }
}

/**
 * The window: at most `window` layers in flight, forward ones only beside each other, at most one
 * committing — the oldest — and commits in plan order.
 */
function checkWindow(state: RolloutState, window: number): void {
  const flying = state.active === null ? [] : [state.active, ...state.ahead];
  if (state.active === null && state.ahead.length > 0) throw new Error('layers staged ahead with none in flight');
  if (flying.length > window) throw new Error(`${flying.length} layers in flight, window ${window}`);
  for (let k = 1; k < flying.length; k++) {
    if (flying[k] <= flying[k - 1]) throw new Error(`in flight out of plan order: ${flying.join(',')}`);
    const l = state.layers[flying[k]];
    if (l.direction !== 'forward' || (l.phase !== 'preparing' && l.phase !== 'prepared')) throw new Error(`layer ${l.layer} ahead is ${l.direction} ${l.phase}`);
  }
  const committing = state.layers.filter((l) => l.phase === 'committing');
  if (committing.length > 1 || (committing.length === 1 && committing[0] !== state.layers[state.active!])) throw new Error('a commit not of the oldest layer in flight');
  for (let k = 1; k < state.committedOrder.length; k++) {
    if (state.committedOrder[k] <= state.committedOrder[k - 1]) throw new Error(`commits out of plan order: ${state.committedOrder.join(',')}`);
  }
}

describe('rollout state machine under random faults (fast-check)', () => {
  it('never leaves a layer mixed; ends on the target or the previous version per layer, as the event log says', () => {
    let outcomes = { SUCCEEDED: 0, ROLLED_BACK: 0, ABORTED: 0 } as Record<string, number>;
    let impersonations = 0;
    const windowed = { SUCCEEDED: 0, ROLLED_BACK: 0, ABORTED: 0, overlapped: 0 } as Record<string, number>;
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { state, events, agents, current, target, impersonations: n, overlapped } = runScenario(sc);
        impersonations += n;
        if (sc.window > 1 && overlapped) {
          windowed.overlapped++;
          windowed[state.status]++;
        }
        expect(isRolloutTerminal(state), `not finished: ${state.status}`).toBe(true);
        outcomes[state.status]++;
        // the audit: rebuilding from the log gives the same state
        const audit = replayRollout(events);
        expect(audit).toEqual(state);
        // …also from the log as the service keeps it (prepare parts not copied into decisions)
        expect(replayRollout(JSON.parse(JSON.stringify(events.map(compactRolloutEvent))))).toEqual(state);
        for (const l of audit.layers) {
          expect(l.version === 7 || l.version === 8).toBe(true);
          const truth = clusterLayer(agents, l.layer);
          expect(new Set(truth.versions)).toEqual(new Set([l.version]));
          expect(truth.row).toEqual(l.version === 8 ? target[l.layer] : current[l.layer]);
          if (l.verifyError === null && (l.status === 'COMMITTED' || l.status === 'ROLLED_BACK')) {
            expect(truth.checksums.includes('corrupt')).toBe(false);
          }
        }
        if (state.status === 'SUCCEEDED') expect(audit.layers.every((l) => l.status === 'COMMITTED' && l.version === 8)).toBe(true);
        if (state.status === 'ROLLED_BACK') expect(audit.layers.every((l) => l.version === 7)).toBe(true);
        if (state.status !== 'SUCCEEDED') expect(state.failure).not.toBeNull();
      }),
      { numRuns: 300 },
    );
    // the generator reaches every outcome
    expect(outcomes.SUCCEEDED).toBeGreaterThan(0);
    expect(outcomes.ROLLED_BACK).toBeGreaterThan(0);
    expect(outcomes.ABORTED).toBeGreaterThan(0);
    // …with layers staging while an earlier one commits, too
    expect(windowed.SUCCEEDED).toBeGreaterThan(0);
    expect(windowed.ROLLED_BACK).toBeGreaterThan(0);
    expect(windowed.ABORTED).toBeGreaterThan(0);
    // …and sends acks for ranks the sender does not serve, each checked where it is applied
    expect(impersonations).toBeGreaterThan(0);
    outcomes = {};
  }, 60_000); // 300 scenarios: a few seconds alone, more on a busy machine
});
