import { describe, expect, it } from 'vitest';
import { defaultRolloutOptions, planRollout, RolloutAgentCommand, RolloutEvent } from '@eplb/domain';
import { rolloutTimeline } from './rollout-timeline';

// two nodes of two ranks; layers 1 and 3 change, in two batches, the second one gated
const shape = { numLayers: 4, numExperts: 6, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
const current = Array.from({ length: 4 }, () => [0, 1, 2, 3, 4, 5, 0, 1]);
const target = [current[0], [5, 1, 2, 3, 4, 0, 0, 1], current[2], [0, 2, 1, 3, 4, 5, 5, 4]];
const plan = planRollout({ rolloutId: 'r1', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: 10, steps: [1, { layers: 'rest', analysis: true }] });
const created: RolloutEvent = { type: 'created', at: 1000, plan, options: defaultRolloutOptions };

const partOf = (layer: number, agent: number) => plan.layers.find((l) => l.layer === layer)!.forward[agent];
// as the log stores it: without the part, which the plan holds
const prepare = (layer: number, attempt: number, agent: number): RolloutAgentCommand => ({ kind: 'prepare', layer, attempt, agent }) as unknown as RolloutAgentCommand;
const commit = (layer: number, attempt: number, agent: number): RolloutAgentCommand => ({ kind: 'commit', layer, attempt, agent, ranks: partOf(layer, agent).ranks });
const decided = (at: number, ...commands: RolloutEvent & { type: 'decided' } extends { commands: infer C } ? C : never): RolloutEvent => ({ type: 'decided', at, commands });
const ack = (at: number, layer: number, attempt: number, agent: number, phase: 'prepare' | 'commit' | 'abort', ok = true, error?: string): RolloutEvent => ({
  type: 'ack',
  at,
  ack: { rolloutId: 'r1', layer, attempt, agent, ranks: partOf(layer, agent).ranks, phase, ok, ...(error ? { error } : {}) },
});

describe('rolloutTimeline', () => {
  it('draws a bar per layer and phase from its first send to the ack that completed it; a re-send does not move its start', () => {
    const [first, second] = plan.layers.map((l) => l.layer);
    const t = rolloutTimeline('r1', [
      created,
      decided(1010, prepare(first, 1, 0), prepare(first, 1, 1)),
      ack(1030, first, 1, 0, 'prepare'),
      decided(3010, prepare(first, 1, 1)), // re-sent to the agent that had not answered
      ack(3050, first, 1, 1, 'prepare'),
      decided(3060, commit(first, 1, 0), commit(first, 1, 1)),
      ack(3070, first, 1, 0, 'commit'),
      ack(3080, first, 1, 1, 'commit'),
      decided(3090, { kind: 'analyse', batch: 0, layers: [first] }),
      { type: 'analysis', at: 3500, batch: 0, passed: true, detail: 'imbalance 1.4 → 1.1' },
      decided(3510, prepare(second, 1, 0), prepare(second, 1, 1)),
      { type: 'operator', at: 3600, action: 'pause', actor: 'operator:alice', reason: 'lunch' },
    ]);
    expect(t.bars.map((b) => [b.layer, b.phase, b.startMs, b.endMs, b.outcome])).toEqual([
      [first, 'prepare', 1010, 3050, 'ok'],
      [first, 'commit', 3060, 3080, 'ok'],
      [second, 'prepare', 3510, null, 'open'],
    ]);
    expect(t.bars.every((b) => b.direction === 'forward')).toBe(true);
    // the batches as the plan has them; the analysis verdict lands on the batch it named
    expect(t.batches.map((b) => b.layers)).toEqual(plan.batches.map((b) => b.layers));
    expect(t.batches[0].gate).toEqual({ requestedMs: 3090, verdictMs: 3500, passed: true, detail: 'imbalance 1.4 → 1.1' });
    expect(t.operator).toEqual([{ atMs: 3600, action: 'pause', actor: 'operator:alice', reason: 'lunch' }]);
    expect(t.bytesPlanned).toBe(plan.bytes);
    expect(t.bytesMoved).toBe(plan.layers[0].bytes);
    expect([t.startedMs, t.lastEventMs, t.fromVersion, t.toVersion]).toEqual([1000, 3600, 1, 2]);
  });

  it('ends a bar at a refusal or a deadline with why, and marks a rollback of a committed layer as the inverse direction', () => {
    const [first, second] = plan.layers.map((l) => l.layer);
    const t = rolloutTimeline('r1', [
      created,
      decided(1010, prepare(first, 1, 0), prepare(first, 1, 1)),
      ack(1011, first, 1, 0, 'prepare'),
      ack(1012, first, 1, 1, 'prepare'),
      decided(1013, commit(first, 1, 0), commit(first, 1, 1)),
      ack(1014, first, 1, 0, 'commit'),
      ack(1015, first, 1, 1, 'commit'),
      decided(1016, prepare(second, 1, 0), prepare(second, 1, 1)),
      ack(1020, second, 1, 0, 'prepare', false, 'out of memory'),
      // the failure rolls the committed layer back: a new attempt on it, the other way
      decided(1030, prepare(first, 2, 0), prepare(first, 2, 1)),
      decided(40_000, { kind: 'expire', phase: 'prepare', layer: first, attempt: 2 }),
    ]);
    expect(t.bars.map((b) => [b.layer, b.phase, b.attempt, b.direction, b.outcome, b.error, b.endMs])).toEqual([
      [first, 'prepare', 1, 'forward', 'ok', null, 1012],
      [first, 'commit', 1, 'forward', 'ok', null, 1015],
      [second, 'prepare', 1, 'forward', 'failed', 'out of memory', 1020],
      [first, 'prepare', 2, 'inverse', 'expired', 'prepare deadline passed', 40_000],
    ]);
    // the committed layer is still on the target until its rollback commits
    expect(t.bytesMoved).toBe(plan.layers[0].bytes);
  });

  it('is empty before the rollout started', () => {
    expect(rolloutTimeline('r1', [])).toMatchObject({ startedMs: null, bars: [], batches: [], layers: [], bytesPlanned: 0 });
  });
});
