import { describe, expect, it } from 'vitest';
import { DeploymentShape } from '../shape/deployment-shape';
import { admitCommand, ledgerEntry } from './agent-ledger';
import { FakeAgent, clusterLayer, fakeChecksum } from '../../test/fake-cluster';
import {
  RolloutAck,
  RolloutAgentCommand,
  RolloutEvent,
  RolloutOptions,
  RolloutState,
  ackWithoutNews,
  advanceRollout,
  beforeRecord,
  decideRollout,
  defaultRolloutOptions,
  layerVersions,
  prepareDeadlineMs,
  reduceRollout,
  replayRollout,
} from './machine';
import { BatchStep, planRollout } from './plan';

const shape: DeploymentShape = { numLayers: 4, numExperts: 6, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
const current = Array.from({ length: 4 }, () => [0, 1, 2, 3, 4, 5, 0, 1]);
const target = [
  [0, 1, 2, 3, 4, 5, 0, 1],
  [5, 1, 2, 3, 4, 0, 0, 1],
  [0, 1, 3, 2, 4, 5, 0, 1],
  [0, 2, 1, 3, 4, 5, 5, 4],
];

/** Drives one rollout against fake agents, recording every event like the service would. */
class Driver {
  events: RolloutEvent[] = [];
  state: RolloutState;
  now = 1_000;
  agents: FakeAgent[];
  /** Agents that do not answer (hung). */
  silent = new Set<number>();
  sent: RolloutAgentCommand[] = [];
  analyses: number[] = [];

  constructor(opts: Partial<RolloutOptions> = {}, steps?: BatchStep[], extra: { checksums?: string[][] } = {}) {
    const plan = planRollout({ rolloutId: 'r1', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: 10, gain: [0, 3, 2, 1], steps, ...extra });
    this.agents = [0, 1].map((a) => new FakeAgent(shape, a, 'r1', current, 1));
    // one layer at a time unless a test asks for a window (the window has tests of its own)
    this.state = this.push({ type: 'created', at: this.now, plan, options: { ...defaultRolloutOptions, window: 1, ...opts } });
  }

  push(ev: RolloutEvent): RolloutState {
    this.events.push(ev);
    this.state = reduceRollout(this.events.length === 1 ? null : this.state, ev);
    return this.state;
  }

  ack(a: RolloutAck): void {
    this.push({ type: 'ack', at: this.now, ack: a });
  }

  /** One round: decide, record, send; agents answer at once unless silent. */
  round(dt = 1): RolloutAgentCommand[] {
    this.now += dt;
    const { state, events, send } = advanceRollout(this.state, this.now);
    this.events.push(...events);
    this.state = state;
    this.sent.push(...send);
    for (const ev of events) if (ev.type === 'decided') for (const c of ev.commands) if (c.kind === 'analyse') this.analyses.push(c.batch);
    for (const c of send) {
      if (this.silent.has(c.agent)) continue;
      const a = this.agents[c.agent].handle(c);
      if (a) this.ack(a);
    }
    return send;
  }

  run(max = 50): RolloutState {
    for (let i = 0; i < max && !['SUCCEEDED', 'ABORTED', 'ROLLED_BACK'].includes(this.state.status); i++) this.round();
    return this.state;
  }
}

const versionsOf = (d: Driver) => layerVersions(d.state).map((l) => [l.layer, l.status, l.version]);

describe('rollout state machine', () => {
  it('rolls out layer by layer, largest gain first: prepare on every agent, commit only after all acked, verify, next', () => {
    const d = new Driver();
    const first = d.round();
    expect(first.map((c) => [c.kind, c.layer, c.agent, c.attempt])).toEqual([
      ['prepare', 1, 0, 1],
      ['prepare', 1, 1, 1],
    ]);
    // both acked at once → the next round commits
    expect(d.state.layers[0].status).toBe('PREPARED');
    expect(d.round().map((c) => [c.kind, c.layer])).toEqual([
      ['commit', 1],
      ['commit', 1],
    ]);
    expect(d.state.layers[0].status).toBe('COMMITTED');
    expect(d.round().map((c) => [c.kind, c.layer])).toEqual([
      ['prepare', 2],
      ['prepare', 2],
    ]);
    const s = d.run();
    expect(s.status).toBe('SUCCEEDED');
    expect(versionsOf(d)).toEqual([
      [1, 'COMMITTED', 2],
      [2, 'COMMITTED', 2],
      [3, 'COMMITTED', 2],
    ]);
    for (const l of [1, 2, 3]) expect(clusterLayer(d.agents, l).row).toEqual(target[l]);
    expect(s.ignored).toEqual([]);
  });

  it('does not commit while one agent has not acked prepare; times out, aborts and rolls committed layers back in reverse order', () => {
    const d2 = new Driver({ prepareTimeoutMs: 100, resendMs: 30 });
    d2.round(); // layer 1 prepared
    d2.round(); // layer 1 committed
    d2.round(); // layer 2 prepared
    d2.silent.add(1);
    d2.round(); // layer 2 commit sent: agent 1 silent → commit outstanding
    expect(d2.state.layers[1].status).toBe('COMMITTING');
    d2.silent.delete(1);
    d2.round(40); // re-send reaches agent 1
    expect(d2.state.layers[1].status).toBe('COMMITTED');
    d2.silent.add(1);
    const prep = d2.round(); // layer 3 prepare; agent 1 silent
    expect(prep.map((c) => c.kind)).toEqual(['prepare', 'prepare']);
    expect(d2.state.layers[2].status).toBe('PREPARING');
    const resent = d2.round(35);
    expect(resent.map((c) => [c.kind, c.agent])).toEqual([['prepare', 1]]);
    expect(d2.round(10).filter((c) => c.kind === 'commit')).toEqual([]);
    d2.round(100); // deadline passes → abort layer 3
    expect(d2.state.layers[2].status).toBe('ABORTED');
    expect(d2.state.failure?.reason).toMatch(/prepare timed out \(agents 1 did not ack\)/);
    d2.silent.clear();
    const s = d2.run();
    expect(s.status).toBe('ROLLED_BACK');
    // rollback order: layer 2 (committed last) before layer 1
    const inverse = d2.sent.filter((c) => c.kind === 'prepare' && c.attempt === 2).map((c) => c.layer);
    expect([...new Set(inverse)]).toEqual([2, 1]);
    for (const l of [1, 2, 3]) {
      expect(clusterLayer(d2.agents, l).row).toEqual(current[l]);
      expect(new Set(clusterLayer(d2.agents, l).versions)).toEqual(new Set([1]));
    }
    expect(versionsOf(d2)).toEqual([
      [1, 'ROLLED_BACK', 1],
      [2, 'ROLLED_BACK', 1],
      [3, 'ABORTED', 1],
    ]);
  });

  it('a prepare failure with onFailure=hold keeps committed layers on the target and ends ABORTED', () => {
    const d = new Driver({ onFailure: 'hold' });
    d.agents[0].failPrepare = (layer) => layer === 2;
    const s = d.run();
    expect(s.status).toBe('ABORTED');
    expect(versionsOf(d)).toEqual([
      [1, 'COMMITTED', 2],
      [2, 'ABORTED', 1],
      [3, 'PENDING', 1],
    ]);
    expect(clusterLayer(d.agents, 1).row).toEqual(target[1]);
    expect(clusterLayer(d.agents, 2).row).toEqual(current[2]);
    expect(d.sent.filter((c) => c.kind === 'abort').map((c) => [c.layer, c.agent])).toEqual([
      [2, 0],
      [2, 1],
    ]);
  });

  it('ignores duplicate, stale, foreign and impersonating acks', () => {
    const d = new Driver();
    d.silent.add(0).add(1);
    d.round();
    const ok: RolloutAck = { rolloutId: 'r1', layer: 1, attempt: 1, agent: 0, ranks: [0, 1], phase: 'prepare', ok: true };
    d.ack(ok);
    d.ack(ok); // duplicate
    d.ack({ ...ok, agent: 1 }); // agent 1 claiming agent 0's ranks
    d.ack({ ...ok, agent: 0, ranks: [2, 3] }); // agent 0 acting for agent 1's ranks
    d.ack({ ...ok, agent: 7, ranks: [] }); // not an agent
    d.ack({ ...ok, rolloutId: 'other', agent: 1, ranks: [2, 3] });
    d.ack({ ...ok, attempt: 0, agent: 1, ranks: [2, 3] }); // older epoch
    d.ack({ ...ok, layer: 2, agent: 1, ranks: [2, 3] }); // layer not in flight
    d.ack({ ...ok, phase: 'commit', agent: 1, ranks: [2, 3] }); // wrong phase
    expect(d.state.layers[0].status).toBe('PREPARING');
    expect(d.state.layers[0].acked).toEqual([0]);
    expect(d.state.ignored.map((i) => i.why)).toEqual([
      'duplicate',
      'agent 1 acked for ranks [0,1], it serves [2,3]',
      'agent 0 acked for ranks [2,3], it serves [0,1]',
      'agent 7 is not an agent of the deployment',
      'rollout other is not r1',
      'stale: attempt 0, layer is at 1',
      'stale: attempt 1, layer is at 0 and not in flight',
      'commit ack while preparing',
    ]);
    expect(decideRollout(d.state, d.now).filter((c) => c.kind === 'commit')).toEqual([]);
    d.ack({ ...ok, agent: 1, ranks: [2, 3] });
    expect(decideRollout(d.state, d.now).map((c) => c.kind)).toEqual(['commit', 'commit']);
    // a commit ack whose holdings name another agent's ranks is refused too
    d.round();
    const h = d.agents[1].holdings(1);
    d.ack({ rolloutId: 'r1', layer: 1, attempt: 1, agent: 0, ranks: [0, 1], phase: 'commit', ok: true, holdings: h });
    expect(d.state.ignored.at(-1)?.why).toBe('agent 0 reported holdings for other ranks or layers');
  });

  it('says which acks add nothing (duplicates, replays, other rollouts, aborts, stale attempts): the service does not record them', () => {
    const d = new Driver();
    d.silent.add(0).add(1);
    d.round();
    const ok: RolloutAck = { rolloutId: 'r1', layer: 1, attempt: 1, agent: 0, ranks: [0, 1], phase: 'prepare', ok: true };
    expect(ackWithoutNews(d.state, ok)).toBeNull();
    d.ack(ok);
    expect(ackWithoutNews(d.state, ok)).toBe('duplicate');
    expect(ackWithoutNews(d.state, { ...ok, rolloutId: 'r0' })).toBe('rollout r0 is not r1');
    expect(ackWithoutNews(d.state, { ...ok, phase: 'abort' })).toBe('abort acks are informational');
    expect(ackWithoutNews(d.state, { ...ok, attempt: 0, agent: 1, ranks: [2, 3] })).toBe('stale: attempt 0, layer is at 1');
    // what an impersonating ack says about its sender is still worth recording
    expect(ackWithoutNews(d.state, { ...ok, agent: 1 })).toBeNull();
    d.ack({ ...ok, agent: 1, ranks: [2, 3] });
    expect(d.state.layers[0].phase).toBe('prepared');
    expect(ackWithoutNews(d.state, ok)).toBe('duplicate: the layer is prepared');
    d.round();
    expect(ackWithoutNews(d.state, ok)).toBe('duplicate: the layer is committing');
    const commit: RolloutAck = { ...ok, phase: 'commit', holdings: d.agents[0].holdings(1) };
    expect(ackWithoutNews(d.state, commit)).toBeNull();
    d.ack(commit);
    expect(ackWithoutNews(d.state, commit)).toBe('duplicate');
  });

  it('after a service crash mid-commit, the rebuilt state re-sends COMMIT only to the agents that did not ack', () => {
    const d = new Driver();
    d.round();
    d.silent.add(1);
    d.round(); // commit to both; agent 0 commits, agent 1 silent
    expect(d.state.layers[0].status).toBe('COMMITTING');
    expect(d.state.layers[0].version).toBeNull();
    expect(clusterLayer(d.agents, 1).versions).toEqual([2, 2, 1, 1]); // mixed, in flight
    // crash: rebuild from the log
    const rebuilt = replayRollout(d.events);
    expect(rebuilt).toEqual(d.state);
    d.state = rebuilt;
    d.push({ type: 'restarted', at: d.now });
    d.silent.clear();
    const again = d.round();
    expect(again.map((c) => [c.kind, c.layer, c.agent])).toEqual([['commit', 1, 1]]);
    expect(clusterLayer(d.agents, 1).versions).toEqual([2, 2, 2, 2]);
    expect(d.run().status).toBe('SUCCEEDED');
  });

  it('an agent that lost its staged weights refuses the commit: it stages the layer again (repair) and commits; never left mixed', () => {
    const d = new Driver();
    let lost = false;
    d.agents[1].loseStaged = (layer) => layer === 1 && !lost && (lost = true);
    expect(d.run().status).toBe('SUCCEEDED');
    const repairs = d.sent.filter((c) => c.kind === 'prepare' && c.repair);
    expect(repairs.map((c) => [c.layer, c.agent, c.attempt])).toEqual([[1, 1, 1]]);
    expect(d.state.ignored.map((i) => i.why)).toContainEqual(expect.stringMatching(/^commit refused by agent 1: nothing staged; staging it again$/));
    for (const l of [1, 2, 3]) {
      expect(new Set(clusterLayer(d.agents, l).versions)).toEqual(new Set([2]));
      expect(clusterLayer(d.agents, l).row).toEqual(target[l]);
    }
    expect(replayRollout(d.events)).toEqual(d.state);
  });

  it('a repair that keeps failing is retried; the commit timeout still fails the rollout, which rolls back once the layer completes', () => {
    const d = new Driver({ commitTimeoutMs: 50, resendMs: 20 });
    let lose = true;
    d.agents[1].loseStaged = (layer) => layer === 1 && lose;
    for (let k = 0; k < 80; k++) d.round();
    expect(d.state.failure?.reason).toMatch(/commit not acknowledged/);
    expect(d.state.layers.find((l) => l.layer === 1)?.status).toBe('COMMITTING');
    expect(d.sent.filter((c) => c.kind === 'prepare' && c.repair).length).toBeGreaterThanOrEqual(4);
    expect(d.sent.filter((c) => c.kind === 'abort')).toEqual([]);
    lose = false; // the device recovers: the layer completes, then everything rolls back
    expect(d.run(200).status).toBe('ROLLED_BACK');
    for (const l of [0, 1, 2, 3]) expect(clusterLayer(d.agents, l).row).toEqual(current[l]);
    expect(replayRollout(d.events)).toEqual(d.state);
  });

  it('a commit that is not acknowledged in time fails the rollout but completes first; then everything rolls back', () => {
    const d = new Driver({ commitTimeoutMs: 50, resendMs: 20 });
    d.round();
    d.silent.add(1);
    d.round();
    d.round(60);
    expect(d.state.failure?.reason).toMatch(/commit not acknowledged/);
    expect(d.state.layers[0].status).toBe('COMMITTING');
    expect(d.sent.filter((c) => c.kind === 'abort')).toEqual([]);
    d.silent.clear();
    expect(d.run().status).toBe('ROLLED_BACK');
    expect(clusterLayer(d.agents, 1).row).toEqual(current[1]);
  });

  it('holdings that do not match the version fail the layer; it is rolled back with the rest', () => {
    const d = new Driver();
    // layer 3 writes replicas of experts 5 and 4 on rank 3 (agent 1); the originals stay on rank 2
    d.agents[1].corruptCommit = (layer, attempt) => layer === 3 && attempt === 1;
    const s = d.run();
    expect(s.failure?.reason).toMatch(/layer 3: holdings do not match version 2: expert [45]: replicas disagree/);
    expect(s.status).toBe('ROLLED_BACK');
    expect(versionsOf(d)).toEqual([
      [1, 'ROLLED_BACK', 1],
      [2, 'ROLLED_BACK', 1],
      [3, 'ROLLED_BACK', 1],
    ]);
    expect(s.layers[2].verifyError).toBeNull(); // the rollback's own check passed
    // the inverse rewrote the corrupted slots from good sources
    expect(clusterLayer(d.agents, 3).checksums).toEqual(current[3].map((e) => fakeChecksum(3, e)));
  });

  it('checks holdings against a manifest when the plan has one', () => {
    const manifest = Array.from({ length: 4 }, (_, l) => Array.from({ length: 6 }, (_, e) => fakeChecksum(l, e)));
    const good = new Driver({}, undefined, { checksums: manifest });
    expect(good.run().status).toBe('SUCCEEDED');
    const wrong = manifest.map((r) => r.slice());
    wrong[3][5] = 'other';
    const bad = new Driver({}, undefined, { checksums: wrong });
    expect(bad.run().failure?.reason).toMatch(/checksum of expert 5 is w3.5, manifest says other/);
  });

  it('gives up rolling a layer back after maxRollbackAttempts and ends ABORTED with that layer on the target', () => {
    const d = new Driver({ maxRollbackAttempts: 2, rollbackRetryMs: 0, onFailure: 'rollback' });
    d.agents[0].failPrepare = (layer, attempt) => layer === 3 || (layer === 2 && attempt > 1);
    const s = d.run();
    expect(s.status).toBe('ABORTED');
    expect(versionsOf(d)).toEqual([
      [1, 'ROLLED_BACK', 1],
      [2, 'COMMITTED', 2],
      [3, 'ABORTED', 1],
    ]);
    expect(s.layers[1].rollbackAttempts).toBe(2);
    expect(clusterLayer(d.agents, 2).row).toEqual(target[2]);
    expect(new Set(clusterLayer(d.agents, 2).versions)).toEqual(new Set([2]));
  });

  it('waits between attempts to roll a layer back, doubling the wait: an agent that is down does not use up every attempt at once', () => {
    const d = new Driver({ maxRollbackAttempts: 3, rollbackRetryMs: 1_000, onFailure: 'rollback' });
    d.agents[0].failPrepare = (layer, attempt) => layer === 3 || (layer === 2 && attempt > 1);
    for (let k = 0; k < 200 && d.state.status !== 'ABORTED'; k++) d.round(100);
    expect(d.state.status).toBe('ABORTED');
    expect(d.state.layers[1].rollbackAttempts).toBe(3);
    // when each rollback attempt of layer 2 was decided, and when it was given up (abort)
    const when = (kind: 'prepare' | 'abort') =>
      d.events.flatMap((e) => (e.type === 'decided' && e.commands.some((c) => c.kind === kind && c.layer === 2 && c.attempt > 1) ? [e.at] : []));
    const [p2, p3, p4] = when('prepare');
    const [a2, a3] = when('abort');
    expect(when('prepare')).toHaveLength(3); // attempts 2, 3, 4: no fourth rollback attempt
    expect(a2).toBeGreaterThanOrEqual(p2);
    expect(p3 - a2).toBeGreaterThanOrEqual(1_000);
    expect(p3 - a2).toBeLessThan(1_100);
    expect(p4 - a3).toBeGreaterThanOrEqual(2_000);
    expect(p4 - a3).toBeLessThan(2_100);
    // the layer it gave up on stays on the target, whole
    expect(new Set(clusterLayer(d.agents, 2).versions)).toEqual(new Set([2]));
  });

  it('rolls the layer back on a later attempt once the failing agent recovers', () => {
    const d = new Driver({ maxRollbackAttempts: 3, rollbackRetryMs: 1_000, onFailure: 'rollback' });
    let down = true;
    d.agents[0].failPrepare = (layer, attempt) => layer === 3 || (layer === 2 && attempt > 1 && down);
    d.run();
    expect(d.state.status).toBe('ROLLING_BACK');
    down = false;
    for (let k = 0; k < 40 && d.state.status === 'ROLLING_BACK'; k++) d.round(100);
    expect(d.state.status).toBe('ROLLED_BACK');
    expect(versionsOf(d)).toEqual([
      [1, 'ROLLED_BACK', 1],
      [2, 'ROLLED_BACK', 1],
      [3, 'ABORTED', 1],
    ]);
    expect(new Set(clusterLayer(d.agents, 2).versions)).toEqual(new Set([1]));
  });

  it('analysis gates: wait for the verdict, continue on pass, roll back on failure or timeout; promote skips gates', () => {
    const steps: BatchStep[] = [{ layers: 1, analysis: true }, { layers: 1, analysis: true }, 'rest'];
    const pass = new Driver({}, steps);
    pass.run(5);
    expect(pass.state.status).toBe('ANALYSING');
    expect(pass.analyses).toEqual([0]);
    pass.push({ type: 'analysis', at: pass.now, batch: 0, passed: true });
    pass.run(5);
    expect(pass.state.status).toBe('ANALYSING');
    expect(pass.analyses).toEqual([0, 1]);
    pass.push({ type: 'operator', at: pass.now, action: 'promote', actor: 'op' });
    expect(pass.run().status).toBe('SUCCEEDED');
    expect(pass.state.gatesPassed).toEqual([0]);

    const failed = new Driver({}, steps);
    failed.run(5);
    failed.push({ type: 'analysis', at: failed.now, batch: 0, passed: false, detail: 'imbalance 1.31 > 1.20' });
    expect(failed.state.status).toBe('ROLLING_BACK');
    expect(failed.run().status).toBe('ROLLED_BACK');
    expect(failed.state.failure?.reason).toBe('analysis of batch 0 failed: imbalance 1.31 > 1.20');

    const slow = new Driver({ analysisTimeoutMs: 100 }, steps);
    slow.run(5);
    slow.round(150);
    expect(slow.run().status).toBe('ROLLED_BACK');
    expect(slow.state.failure?.reason).toBe('analysis of batch 0 timed out');
    // a verdict arriving late changes nothing
    slow.push({ type: 'analysis', at: slow.now, batch: 0, passed: true });
    expect(slow.state.status).toBe('ROLLED_BACK');
  });

  it('pause holds new prepares and commits, resume continues; operator abort with hold stops where it is', () => {
    const d = new Driver();
    d.round(); // layer 1 prepared
    d.push({ type: 'operator', at: d.now, action: 'pause', actor: 'op' });
    expect(d.state.status).toBe('PAUSED');
    expect(d.round()).toEqual([]);
    expect(d.state.layers[0].status).toBe('PREPARED');
    d.push({ type: 'operator', at: d.now, action: 'resume', actor: 'op' });
    expect(d.round().map((c) => c.kind)).toEqual(['commit', 'commit']);
    d.silent.add(0);
    expect(d.round().map((c) => c.kind)).toEqual(['prepare', 'prepare']);
    d.push({ type: 'operator', at: d.now, action: 'abort', actor: 'op', reason: 'maintenance', rollback: false });
    expect(d.round().map((c) => [c.kind, c.layer])).toEqual([
      ['abort', 2],
      ['abort', 2],
    ]);
    expect(d.state.status).toBe('ABORTED');
    expect(d.state.failure?.reason).toBe('aborted by operator (maintenance)');
    expect(versionsOf(d)).toEqual([
      [1, 'COMMITTED', 2],
      [2, 'ABORTED', 1],
      [3, 'PENDING', 1],
    ]);
    // terminal: operator actions and late acks change nothing
    const before = d.state;
    d.push({ type: 'operator', at: d.now, action: 'resume' });
    expect(d.state.status).toBe(before.status);
    expect(d.round()).toEqual([]);
  });

  it('a rollout with no changed layer succeeds at once', () => {
    const plan = planRollout({ rolloutId: 'r0', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: current, expertBytes: 0 });
    const s = reduceRollout(null, { type: 'created', at: 0, plan, options: defaultRolloutOptions });
    expect(s.status).toBe('SUCCEEDED');
    expect(decideRollout(s, 1)).toEqual([]);
  });

  it('stretches the prepare deadline by the bytes an agent receives at the cap', () => {
    const d = new Driver({ prepareTimeoutMs: 100, bytesPerSecond: 10, resendMs: 1e9 });
    d.silent.add(1);
    d.round(); // layer 1: agent 0 receives 10 bytes from agent 1 → +1000 ms
    d.round(1000);
    expect(d.state.failure).toBeNull();
    d.round(200);
    expect(d.state.failure?.reason).toMatch(/prepare timed out/);
    expect(d.sent[0].kind === 'prepare' && d.sent[0].bytesPerSecond).toBe(10);
  });
});

describe('rollout state machine with a window of layers in flight', () => {
  const kinds = (cs: RolloutAgentCommand[]) => [...new Set(cs.map((c) => `${c.kind} ${c.layer}`))];

  it('stages the next layers while the oldest commits; commits one at a time, in plan order', () => {
    const d = new Driver({ window: 2 });
    const order: string[] = [];
    for (let i = 0; i < 20 && d.state.status !== 'SUCCEEDED'; i++) order.push(...kinds(d.round()));
    // layers 1 and 2 stage together; layer 3 enters the window once layer 1 committed and stages
    // while layer 2 commits; layer 2 commits only after layer 1 did
    expect(order).toEqual(['prepare 1', 'prepare 2', 'commit 1', 'commit 2', 'prepare 3', 'commit 3']);
    expect(versionsOf(d)).toEqual([
      [1, 'COMMITTED', 2],
      [2, 'COMMITTED', 2],
      [3, 'COMMITTED', 2],
    ]);
    expect(replayRollout(d.events)).toEqual(d.state);
    // never two layers committing at once, never a commit out of plan order
    let committing: number | null = null;
    for (const c of d.sent) if (c.kind === 'commit') committing = c.layer;
    expect(committing).toBe(3);
  });

  it('a layer staged ahead that fails aborts every layer still staging; committed ones roll back, newest first', () => {
    const d = new Driver({ window: 3 });
    d.agents[1].failPrepare = (layer) => layer === 3;
    d.run();
    expect(d.state.status).toBe('ROLLED_BACK');
    expect(d.state.failure?.reason).toMatch(/layer 3: agent 1 failed to prepare/);
    expect(versionsOf(d).map(([, , v]) => v)).toEqual([1, 1, 1]);
    // the cluster agrees with the log on every layer
    for (const l of d.state.layers) expect(new Set(clusterLayer(d.agents, l.layer).versions)).toEqual(new Set([1]));
    expect(d.sent.filter((c) => c.kind === 'abort').map((c) => c.layer)).toContain(3);
    expect(d.state.ahead).toEqual([]);
    expect(replayRollout(d.events)).toEqual(d.state);
  });

  it('an operator abort while layers stage ahead aborts them and keeps the one committing; hold stops there', () => {
    const d = new Driver({ window: 3, onFailure: 'hold' });
    d.round(); // prepares of layers 1, 2, 3
    expect(d.state.active).not.toBeNull();
    expect(d.state.ahead).toHaveLength(2);
    d.silent.add(0);
    d.round(); // commit of layer 1 sent; agent 0 does not answer
    expect(d.state.layers[d.state.active!].phase).toBe('committing');
    d.push({ type: 'operator', at: d.now, action: 'abort', actor: 'op' });
    const aborts = d.round();
    expect(kinds(aborts)).toEqual(['abort 2', 'abort 3']);
    d.silent.clear();
    d.round(defaultRolloutOptions.resendMs); // the commit is sent again to agent 0
    d.run();
    expect(d.state.status).toBe('ABORTED');
    expect(versionsOf(d)).toEqual([
      [1, 'COMMITTED', 2],
      [2, 'ABORTED', 1],
      [3, 'ABORTED', 1],
    ]);
  });

  it('stages nothing past a batch whose analysis has not passed', () => {
    const d = new Driver({ window: 3 }, [{ layers: 1, analysis: true }, 'rest']);
    expect(kinds(d.round())).toEqual(['prepare 1']);
    d.round();
    expect(d.state.status).toBe('ANALYSING');
    expect(d.round()).toEqual([]);
    d.push({ type: 'analysis', at: d.now, batch: 0, passed: true });
    expect(kinds(d.round())).toEqual(['prepare 2', 'prepare 3']);
    expect(d.run().status).toBe('SUCCEEDED');
  });

  it('pause holds the commit of the oldest layer; the ones ahead stay staged until resume', () => {
    const d = new Driver({ window: 3 });
    d.push({ type: 'operator', at: d.now, action: 'pause' });
    expect(d.round()).toEqual([]);
    d.push({ type: 'operator', at: d.now, action: 'resume' });
    d.round(); // prepares of three layers
    d.push({ type: 'operator', at: d.now, action: 'pause' });
    expect(d.round()).toEqual([]);
    expect(d.state.layers.map((l) => l.status)).toEqual(['PREPARED', 'PREPARED', 'PREPARED']);
    d.push({ type: 'operator', at: d.now, action: 'resume' });
    expect(d.run().status).toBe('SUCCEEDED');
  });

  it('a step of prepares alone sends them before its record; a step with a commit or abort sends everything after it, in the order decided', () => {
    const d = new Driver({ window: 2 });
    const steps: { send: RolloutAgentCommand[]; split: ReturnType<typeof beforeRecord> }[] = [];
    for (let i = 0; i < 20 && d.state.status !== 'SUCCEEDED'; i++) {
      const send = d.round();
      const split = beforeRecord(send);
      // nothing lost or added, and the order within each part is the decided one
      expect([...split.early, ...split.afterRecord]).toEqual(send);
      steps.push({ send, split });
    }
    expect(d.state.status).toBe('SUCCEEDED');
    for (const { send, split } of steps) {
      if (send.some((c) => c.kind !== 'prepare')) expect(split.early).toEqual([]);
      else expect(split.afterRecord).toEqual([]);
    }
    expect(steps.flatMap((s) => s.split.early).length).toBeGreaterThan(0);
    // with a window of 2 some step decides the commit of one layer and the prepare of the next: both after the record
    expect(steps.some((s) => s.split.afterRecord.some((c) => c.kind === 'commit') && s.split.afterRecord.some((c) => c.kind === 'prepare'))).toBe(true);
    // a retry (abort of attempt 1, prepare of attempt 2 of the same layer) keeps its order: both after the record
    const prepare = steps.flatMap((s) => s.split.early)[0];
    const abort: RolloutAgentCommand = { kind: 'abort', layer: prepare.layer, attempt: prepare.attempt, agent: prepare.agent, ranks: [0] };
    const retry = { ...prepare, attempt: prepare.attempt + 1 } as RolloutAgentCommand;
    expect(beforeRecord([abort, retry])).toEqual({ early: [], afterRecord: [abort, retry] });
  });

  it('the prepare deadline of a layer staged ahead counts the bytes of the window before it', () => {
    const d = new Driver({ window: 3, prepareTimeoutMs: 100, bytesPerSecond: 10, resendMs: 1e9 });
    d.silent.add(0);
    d.silent.add(1);
    d.round();
    // plan position 2 waits for the inflow of positions 0..2 at the cap, position 0 only for its own
    const own = (i: number) => Math.max(...d.state.plan.layers[i].forward.map((p) => p.bytesIn));
    expect(prepareDeadlineMs(d.state, 0, 'forward')).toBe(100 + Math.ceil((own(0) * 1000) / 10));
    expect(prepareDeadlineMs(d.state, 2, 'forward')).toBe(100 + Math.ceil(((own(0) + own(1) + own(2)) * 1000) / 10));
  });
});

describe('agent ledger', () => {
  it('makes commands idempotent and drops stale ones', () => {
    const p = (attempt: number) => ({ kind: 'prepare' as const, attempt });
    const c = (attempt: number) => ({ kind: 'commit' as const, attempt });
    const a = (attempt: number) => ({ kind: 'abort' as const, attempt });
    expect(admitCommand(undefined, p(1)).action).toBe('execute');
    expect(admitCommand(undefined, c(1))).toEqual({ action: 'refuse', error: 'attempt 1 was not prepared here' });
    expect(admitCommand(ledgerEntry(1, 'preparing'), p(1)).action).toBe('drop');
    expect(admitCommand(ledgerEntry(1, 'prepared'), p(1))).toEqual({ action: 'replay', ok: true });
    expect(admitCommand(ledgerEntry(1, 'failed', 'disk'), p(1))).toEqual({ action: 'replay', ok: false, error: 'disk' });
    expect(admitCommand(ledgerEntry(1, 'prepared'), c(1)).action).toBe('execute');
    expect(admitCommand(ledgerEntry(1, 'committed'), c(1))).toEqual({ action: 'replay', ok: true });
    expect(admitCommand(ledgerEntry(1, 'committed'), a(1)).action).toBe('drop');
    expect(admitCommand(ledgerEntry(2, 'prepared'), c(1)).action).toBe('drop');
    expect(admitCommand(ledgerEntry(1, 'aborted'), p(1)).action).toBe('drop'); // a late prepare after its abort
    expect(admitCommand(ledgerEntry(1, 'aborted'), c(1)).action).toBe('refuse');
    expect(admitCommand(undefined, a(3)).action).toBe('execute');
    expect(admitCommand(ledgerEntry(1, 'committed'), p(2)).action).toBe('execute');
    // repair prepares (after this agent refused the commit) stage again, unless already committed
    const r = (attempt: number) => ({ kind: 'prepare' as const, attempt, repair: true });
    expect(admitCommand(ledgerEntry(1, 'prepared'), r(1)).action).toBe('execute');
    expect(admitCommand(ledgerEntry(1, 'failed', 'lost'), r(1)).action).toBe('execute');
    expect(admitCommand(ledgerEntry(1, 'committed'), r(1))).toEqual({ action: 'replay', ok: true });
    expect(admitCommand(ledgerEntry(1, 'preparing'), r(1)).action).toBe('drop');
    expect(admitCommand(ledgerEntry(1, 'aborted'), r(1)).action).toBe('drop');
  });
});
