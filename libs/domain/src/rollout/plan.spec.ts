import { describe, expect, it } from 'vitest';
import { DeploymentShape } from '../shape/deployment-shape';
import { applyTransferPlan, planTransfers } from '../transfer/transfer-plan';
import { agentOfRank, expectedGains, planRollout, ranksOfAgent } from './plan';

const shape: DeploymentShape = { numLayers: 4, numExperts: 6, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
const current = [
  [0, 1, 2, 3, 4, 5, 0, 1],
  [0, 1, 2, 3, 4, 5, 0, 1],
  [0, 1, 2, 3, 4, 5, 0, 1],
  [0, 1, 2, 3, 4, 5, 0, 1],
];
const target = [
  [0, 1, 2, 3, 4, 5, 0, 1], // unchanged
  [5, 1, 2, 3, 4, 0, 0, 1], // swap across nodes
  [0, 1, 3, 2, 4, 5, 0, 1], // swap inside rank 1
  [0, 2, 1, 3, 4, 5, 5, 4],
];
const base = { rolloutId: 'r1', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: 100 };

describe('planRollout', () => {
  it('keeps only changed layers, largest gain first, ties by layer index', () => {
    const plan = planRollout({ ...base, gain: [9, 0.1, 0.1, 0.5] });
    expect(plan.layers.map((l) => l.layer)).toEqual([3, 1, 2]);
    expect(plan.batches).toEqual([{ index: 0, layers: [3, 1, 2], analysis: false }]);
    expect(plan.agents).toBe(2);
  });

  it('follows an explicit order and drops unchanged layers from it; refuses an order missing a changed layer', () => {
    expect(planRollout({ ...base, order: [2, 0, 1, 3] }).layers.map((l) => l.layer)).toEqual([2, 1, 3]);
    expect(() => planRollout({ ...base, order: [2, 1] })).toThrow(/misses changed layer\(s\) 3/);
    expect(() => planRollout({ ...base, order: [2, 2, 1, 3] })).toThrow(/named twice/);
  });

  it('starts each layer from its own version when they differ (after a held failure); the inverse returns it there', () => {
    const plan = planRollout({ ...base, fromVersion: 2, toVersion: 1, fromVersions: [2, 3, 2, 3], current: target, target: current });
    expect(plan.layers.map((l) => [l.layer, l.fromVersion])).toEqual([
      [1, 3],
      [2, 2],
      [3, 3],
    ]);
    for (const l of plan.layers) {
      expect(new Set(l.forward.map((p) => p.version))).toEqual(new Set([1]));
      expect(new Set(l.inverse.map((p) => p.version))).toEqual(new Set([l.fromVersion]));
    }
    expect(planRollout(base).layers.every((l) => l.fromVersion === 1)).toBe(true);
    expect(() => planRollout({ ...base, fromVersions: [1, 1] })).toThrow(/fromVersions: must be 4 positive integer versions/);
  });

  it('expects per-layer gains from heat (imbalance now minus on the target), and orders layers by them', () => {
    // expert 5 hot: in layer 1 the target moves it off rank 2 next to a half-loaded replica
    const heat = [
      [9, 9, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 9],
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
    ].flat();
    const gains = expectedGains(shape, current, target, heat);
    expect(gains[0]).toBe(0);
    expect(gains[1]).toBeGreaterThan(0);
    const plan = planRollout({ ...base, gain: gains });
    expect(plan.layers[0].layer).toBe(1);
    expect(() => expectedGains(shape, current, target, [1, 2])).toThrow(/heat: must hold 4 × 6 loads/);
  });

  it('cuts batches like Argo steps, with gates where asked', () => {
    const t = Array.from({ length: 8 }, (_, l) => (l === 0 ? current[0] : target[1 + (l % 3)]));
    const big = { ...base, shape: { ...shape, numLayers: 8 }, current: Array.from({ length: 8 }, () => current[0]), target: t };
    const plan = planRollout({ ...big, steps: [{ layers: 1, analysis: true }, 4, 'rest'] });
    expect(plan.batches.map((b) => [b.layers.length, b.analysis])).toEqual([
      [1, true],
      [4, false],
      [2, false],
    ]);
    expect(planRollout({ ...big, steps: [2, { layers: 2, analysis: true }] }).batches.map((b) => b.layers.length)).toEqual([2, 2, 3]);
    expect(planRollout({ ...big, steps: [10] }).batches.map((b) => b.layers.length)).toEqual([7]);
    expect(() => planRollout({ ...big, steps: ['rest', 1] })).toThrow(/last step/);
    expect(() => planRollout({ ...big, steps: [0] })).toThrow(/positive layer count/);
  });

  it('splits each layer per agent: receives by the receiving rank, sends by the source rank across agents', () => {
    const plan = planRollout(base);
    const full = planTransfers(shape, current, target, 100);
    for (const pl of plan.layers) {
      expect(pl.forward.map((p) => p.ranks)).toEqual([ranksOfAgent(shape, 0), ranksOfAgent(shape, 1)]);
      const recs = pl.forward.flatMap((p) => p.receives);
      expect(recs).toEqual(full.layers[pl.layer].receives.flat());
      for (const p of pl.forward) {
        for (const r of p.receives) expect(agentOfRank(shape, Math.floor(r.slot / shape.slotsPerRank))).toBe(p.agent);
        for (const s of p.sends) expect(agentOfRank(shape, s.fromRank)).toBe(p.agent);
        expect(p.row).toEqual(target[pl.layer]);
        expect(p.version).toBe(2);
      }
      const crossIn = pl.forward.reduce((s, p) => s + p.bytesIn, 0);
      expect(crossIn).toBe(pl.forward.reduce((s, p) => s + p.bytesOut, 0));
      expect(pl.inverse[0].row).toEqual(current[pl.layer]);
      expect(pl.inverse[0].version).toBe(1);
    }
    // layer 1: rank 0 (node 0) needs expert 5, held only by rank 2 (node 1); rank 2 needs expert 0,
    // which rank 3 on its own node holds, so that one stays inside agent 1
    const l1 = plan.layers.find((l) => l.layer === 1)!;
    expect(l1.forward[0].sends).toEqual([]);
    expect(l1.forward[1].sends.map((s) => [s.fromRank, s.toRank, s.expert, s.link])).toEqual([[2, 0, 5, 'remote']]);
    expect(l1.forward[1].receives.map((r) => [r.slot, r.expert, r.source, r.link])).toEqual([[5, 0, 3, 'node']]);
    expect([l1.forward[0].bytesIn, l1.forward[1].bytesOut, l1.forward[1].bytesIn]).toEqual([100, 100, 0]);
    // the forward parts, applied, give the target; the inverse parts give the current map back
    const asPlan = (dir: 'forward' | 'inverse') => ({
      transfers: 0,
      bytes: 0,
      layers: plan.layers.map((pl) => ({
        layer: pl.layer,
        transfers: 0,
        localCopies: 0,
        bytes: 0,
        receives: Array.from({ length: 4 }, (_, r) => pl[dir].flatMap((p) => p.receives).filter((x) => Math.floor(x.slot / 2) === r)),
      })),
    });
    expect(applyTransferPlan(shape, current, asPlan('forward'))).toEqual(target);
    expect(applyTransferPlan(shape, target, asPlan('inverse'))).toEqual(current);
  });

  it('rejects invalid input with the field named', () => {
    expect(() => planRollout({ ...base, target: [[0]] })).toThrow(/target/);
    expect(() => planRollout({ ...base, toVersion: 1 })).toThrow(/toVersion/);
    expect(() => planRollout({ ...base, gain: [1] })).toThrow(/gain/);
    expect(() => planRollout({ ...base, checksums: [['a']] })).toThrow(/checksums/);
  });

  it('a rollout with nothing to change has no layers and no batches', () => {
    const plan = planRollout({ ...base, target: current });
    expect(plan.layers).toEqual([]);
    expect(plan.batches).toEqual([]);
  });
});
