import { describe, expect, it } from 'vitest';
import type { DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { HeatAnalysis } from './heat-analysis';

interface Row {
  phase: string;
  startedAt: number;
  imbalance: number[];
  layerVersions: number[];
  missingRankSteps: number;
}

/** An in-memory HeatWindowRepository.layerImbalances with the SQL's filters. */
function fakeHeat(rows: Row[]) {
  const calls: unknown[] = [];
  const heat = {
    async layerImbalances(_dep: string, phase: string, q: { layers: number[]; fromMs?: number; toMs?: number; version?: number; completeOnly?: boolean; newest?: boolean; limit: number }) {
      calls.push({ phase, ...q });
      const out = rows
        .filter((r) => r.phase === phase && r.startedAt >= (q.fromMs ?? 0) && r.startedAt < (q.toMs ?? Infinity))
        .filter((r) => !q.completeOnly || r.missingRankSteps === 0)
        .filter((r) => q.layers.every((l) => r.layerVersions[l] !== 0 && (q.version === undefined || r.layerVersions[l] === q.version)))
        .sort((a, b) => (q.newest ? b.startedAt - a.startedAt : a.startedAt - b.startedAt))
        .slice(0, q.limit);
      return out.map((r, i) => ({ episode: i, startedAt: new Date(r.startedAt), imbalance: q.layers.map((l) => r.imbalance[l]), layerVersions: q.layers.map((l) => r.layerVersions[l]), missingRankSteps: r.missingRankSteps }));
    },
  };
  return { heat: heat as unknown as HeatWindowRepository, calls };
}
const deployments = { find: async (id: string) => (id === 'd' ? { settings: { phase: 'decode' } } : null) } as unknown as DeploymentRepository;

const T0 = 1_000_000; // rollout start
const T1 = 2_000_000; // batch committed
const ep = (startedAt: number, imbalance: number[], layerVersions: number[], extra: Partial<Row> = {}): Row => ({ phase: 'decode', startedAt, imbalance, layerVersions, missingRankSteps: 0, ...extra });
const wobble = (i: number) => 0.03 * Math.sin(i * 2.399);

describe('HeatAnalysis', () => {
  const before = Array.from({ length: 20 }, (_, i) => ep(T0 - 1000 * (i + 1), [1.5 + wobble(i), 1.6 + wobble(i), 3], [1, 1, 1]));
  const q = { deployment: 'd', layers: [0, 1], baselineBefore: T0, committedAt: T1, minEpisodes: 4, version: 2, baselineVersion: 1 };

  it('is pending until enough episodes on the new version exist after the commit', async () => {
    const rows = [
      ...before,
      ep(T1 - 10, [1.1, 1.1, 3], [2, 2, 1]), // before the commit: not counted
      ep(T1 + 10, [1.1, 1.1, 3], [2, 1, 1]), // layer 1 still on the old version
      ep(T1 + 20, [1.1, 1.1, 3], [2, 0, 1]), // layer 1 mixed
      ep(T1 + 30, [1.1, 1.1, 3], [2, 2, 1], { missingRankSteps: 3 }), // incomplete
      ep(T1 + 40, [1.1, 1.1, 3], [2, 2, 1]),
      ep(T1 + 50, [1.1, 1.2, 3], [2, 2, 1]),
    ];
    const a = new HeatAnalysis(fakeHeat(rows).heat, deployments);
    const r = await a.analyse(q);
    expect(r).toEqual({ verdict: 'pending', episodes: 2, detail: '2 of 4 complete episodes measured on layers 0,1 on version 2, decode since the commit' });
  });

  it('passes a better map, naming the numbers and the layer that fared worst', async () => {
    const after = Array.from({ length: 6 }, (_, i) => ep(T1 + 100 * i, [1.1 + wobble(i), 1.3 + wobble(i), 3], [2, 2, 1]));
    const { heat, calls } = fakeHeat([...before, ...after]);
    const r = await new HeatAnalysis(heat, deployments).analyse(q);
    expect(r.verdict).toBe('pass');
    if (r.verdict === 'pending') throw new Error('unreachable');
    expect(r.after.n).toBe(6);
    expect(r.before.n).toBe(20);
    expect(r.after.mean).toBeCloseTo(1.2, 1);
    expect(r.before.mean).toBeCloseTo(1.55, 1);
    expect(r.detail).toMatch(/^layers 0,1 on version 2, decode: mean per-episode imbalance 1\.[12]\d\d after the commit \(6 episodes/);
    expect(r.detail).toMatch(/worst layer 1: 1\.6\d\d → 1\.[23]\d\d$/);
    // the baseline: most recent episodes before the rollout, on the old version, complete
    expect(calls[1]).toMatchObject({ phase: 'decode', toMs: T0, version: 1, completeOnly: true, newest: true, limit: 64 });
  });

  it('fails a worse map', async () => {
    const after = Array.from({ length: 6 }, (_, i) => ep(T1 + 100 * i, [1.9 + wobble(i), 1.7 + wobble(i), 1], [2, 2, 1]));
    const r = await new HeatAnalysis(fakeHeat([...before, ...after]).heat, deployments).analyse(q);
    expect(r.verdict).toBe('fail');
    expect(r.detail).toMatch(/worse by more than the tolerance/);
    expect(r.detail).toMatch(/worst layer 0/);
  });

  it('judges only the batch layers: a worse layer outside the batch does not matter', async () => {
    const after = Array.from({ length: 6 }, (_, i) => ep(T1 + 100 * i, [1.5 + wobble(i), 1.6 + wobble(i), 9], [2, 2, 1]));
    const r = await new HeatAnalysis(fakeHeat([...before, ...after]).heat, deployments).analyse(q);
    expect(r.verdict).toBe('pass');
  });

  it('takes the phase and thresholds it is given', async () => {
    const after = Array.from({ length: 6 }, (_, i) => ep(T1 + 100 * i, [1.58 + wobble(i), 1.68 + wobble(i), 3], [2, 2, 1], { phase: 'prefill' }));
    const pre = before.map((e) => ({ ...e, phase: 'prefill' }));
    const strict = new HeatAnalysis(fakeHeat([...pre, ...after]).heat, deployments, undefined, { minTolerance: 0.01, seMultiplier: 1 });
    expect((await strict.analyse({ ...q, phase: 'prefill' })).verdict).toBe('fail');
    const lax = new HeatAnalysis(fakeHeat([...pre, ...after]).heat, deployments, undefined, { minTolerance: 0.1 });
    expect((await lax.analyse({ ...q, phase: 'prefill' })).verdict).toBe('pass');
    // decode (the deployment's phase) has no heat at all
    expect((await lax.analyse(q)).verdict).toBe('pending');
  });

  it('refuses an unknown deployment or no layers', async () => {
    const a = new HeatAnalysis(fakeHeat([]).heat, deployments);
    await expect(a.analyse({ ...q, deployment: 'nope' })).rejects.toThrow(/nope does not exist/);
    await expect(a.analyse({ ...q, layers: [] })).rejects.toThrow(/no layers/);
  });
});
