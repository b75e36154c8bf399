import { describe, expect, it } from 'vitest';
import type { DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { imbalance } from '@eplb/domain';
import { HeatAnalysis } from './heat-analysis';

interface Row {
  phase: string;
  /** When the collector stored it (the database's clock): what the gate's times are compared with. */
  storedAt: number;
  imbalance: number[];
  layerVersions: number[];
  missingRankSteps: number;
  /** Per layer, the episode's logical load (E numbers); absent as in episodes without it. */
  logical?: number[][];
}

/** An in-memory HeatWindowRepository.layerImbalances with the SQL's filters. */
function fakeHeat(rows: Row[]) {
  const calls: unknown[] = [];
  const heat = {
    async layerImbalances(_dep: string, phase: string, q: { layers: number[]; storedFromMs?: number; storedBeforeMs?: number; version?: number; completeOnly?: boolean; newest?: boolean; limit: number; numExperts?: number }) {
      calls.push({ phase, ...q });
      const out = rows
        .filter((r) => r.phase === phase && r.storedAt >= (q.storedFromMs ?? 0) && r.storedAt < (q.storedBeforeMs ?? Infinity))
        .filter((r) => !q.completeOnly || r.missingRankSteps === 0)
        .filter((r) => q.layers.every((l) => r.layerVersions[l] !== 0 && (q.version === undefined || r.layerVersions[l] === q.version)))
        .sort((a, b) => (q.newest ? b.storedAt - a.storedAt : a.storedAt - b.storedAt))
        .slice(0, q.limit);
      return out.map((r, i) => {
        const e = { episode: i, startedAt: new Date(r.storedAt), imbalance: q.layers.map((l) => r.imbalance[l]), layerVersions: q.layers.map((l) => r.layerVersions[l]), missingRankSteps: r.missingRankSteps };
        // as the SQL: slices only when asked and every chosen layer's vector has numExperts numbers
        const E = q.numExperts;
        if (E === undefined || !r.logical || q.layers.some((l) => r.logical![l]?.length !== E)) return e;
        return { ...e, logicalLoad: q.layers.map((l) => Float64Array.from(r.logical![l])) };
      });
    },
  };
  return { heat: heat as unknown as HeatWindowRepository, calls };
}
const deployments = {
  find: async (id: string) => (id === 'd' ? { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 3, settings: { phase: 'decode' } } : null),
} as unknown as DeploymentRepository;

const T0 = 1_000_000; // rollout start
const T1 = 2_000_000; // batch committed
const ep = (storedAt: number, imbalance: number[], layerVersions: number[], extra: Partial<Row> = {}): Row => ({ phase: 'decode', storedAt, imbalance, layerVersions, missingRankSteps: 0, ...extra });
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
    expect(calls[1]).toMatchObject({ phase: 'decode', storedBeforeMs: T0, version: 1, completeOnly: true, newest: true, limit: 64 });
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

  describe('paired with the previous rows (heat that drifts)', () => {
    // 8 experts on 4 ranks × 3 slots; Zipf heat, skew `s`, ±10% per episode, hot order per layer
    const R = 4;
    const S = 3;
    const hotOrder = [[5, 2, 7, 0, 3, 6, 1, 4], [6, 1, 4, 5, 0, 7, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7]];
    const heatOf = (l: number, s: number, i: number) => {
      const h = new Array<number>(8);
      hotOrder[l].forEach((e, k) => (h[e] = (1000 / (k + 1) ** s) * (1 + 0.1 * Math.sin(i * 2.399 + k))));
      return h;
    };
    const old = Array.from({ length: R * S }, (_, p) => p % 8); // round-robin, every layer
    /** The hottest four of a layer replicated and spread. */
    const better = (l: number) => {
      const o = hotOrder[l];
      return [o[0], o[1], o[4], o[2], o[3], o[5], o[0], o[1], o[6], o[2], o[3], o[7]];
    };
    /** The three hottest alone, crowded on rank 0. */
    const worse = (l: number) => {
      const o = hotOrder[l];
      return [...o, o[3], o[4], o[5], o[6]];
    };
    const previousRows = { 0: old, 1: old };
    // measured = the map's imbalance on the episode's heat + a little (routing is not quite even)
    const episode = (at: number, i: number, s: number, rows: number[][], versions: number[]) => {
      const logical = [0, 1, 2].map((l) => heatOf(l, s, i));
      return ep(at, logical.map((h, l) => imbalance(rows[l], h, R, S) + 0.04 + 0.02 * Math.sin(i * 1.7 + l)), versions, { logical });
    };
    const mild = Array.from({ length: 24 }, (_, i) => episode(T0 - 1000 * (i + 1), i, 0.6, [old, old, old], [1, 1, 1]));
    const skewedAfter = (rows: (l: number) => number[]) =>
      Array.from({ length: 8 }, (_, i) => episode(T1 + 100 * i, 100 + i, 1.5, [rows(0), rows(1), old], [2, 2, 1]));

    it('passes a better map the unpaired comparison fails because the heat got more skewed, explaining the numbers', async () => {
      const rows = [...mild, ...skewedAfter(better)];
      const unpaired = await new HeatAnalysis(fakeHeat(rows).heat, deployments).analyse(q);
      expect(unpaired.verdict).toBe('fail');
      const { heat, calls } = fakeHeat(rows);
      const r = await new HeatAnalysis(heat, deployments).analyse({ ...q, previousRows });
      expect(r.verdict, r.detail).toBe('pass');
      if (r.verdict === 'pending') throw new Error('unreachable');
      expect(r.paired).toBe(true);
      expect(r.after.mean).toBeGreaterThan(r.before.mean); // measured: worse than before the rollout …
      expect(r.detail).toMatch(
        /^layers 0,1 on version 2, decode: mean per-episode imbalance (\d\.\d{3}) after the commit \(8 episodes, sd \d\.\d{3}\) vs \d\.\d{3} before \(24 episodes, sd \d\.\d{3}\); on the same heat the previous map would have had (\d\.\d{3}) after \(modelled; measured − modelled −\d\.\d{3}, sd \d\.\d{3}\), and the model's gap on the old map before was \+0\.04\d \(sd \d\.\d{3}\): paired change −\d\.\d{3}, better \(tolerance \d\.\d{3} = max\(0\.02, 2·SE \d\.\d{3}\)\); worst layer [01]: \d\.\d{3} → \d\.\d{3} measured, paired change −\d\.\d{3}$/,
      );
      // … but well below what the old map would have had on that heat
      const [, measuredAfter, wouldHave] = /imbalance (\d\.\d{3}) after.*would have had (\d\.\d{3}) after/.exec(r.detail)!;
      expect(Number(wouldHave)).toBeGreaterThan(Number(measuredAfter) + 0.3);
      // both sides read the batch layers' logical load, of the deployment's expert count
      expect(calls).toMatchObject([{ storedFromMs: T1, numExperts: 8 }, { storedBeforeMs: T0, numExperts: 8 }]);
    });

    it('still fails a worse map under the same drift, naming the layer that fared worst', async () => {
      const r = await new HeatAnalysis(fakeHeat([...mild, ...skewedAfter(worse)]).heat, deployments).analyse({ ...q, previousRows });
      expect(r.verdict).toBe('fail');
      expect(r.detail).toMatch(/paired change \+\d\.\d{3}, worse by more than the tolerance .*; worst layer [01]: .* measured, paired change \+\d\.\d{3}$/);
    });

    it('falls back to the unpaired comparison, saying why, when episodes lack logical load or the rows do not fit', async () => {
      const after = skewedAfter(better);
      after[3] = { ...after[3], logical: undefined };
      const noLoad = await new HeatAnalysis(fakeHeat([...mild, ...after]).heat, deployments).analyse({ ...q, previousRows });
      expect(noLoad).toMatchObject({ verdict: 'fail', paired: false });
      expect(noLoad.detail).toMatch(/\+\d\.\d{3}, worse by more than the tolerance .*; unpaired: 1 episodes without logical load$/);
      const rows = [...mild, ...skewedAfter(better)];
      const misfits: Record<number, number[]>[] = [{ 0: old }, { 0: old, 1: old.slice(1) }, { 0: old, 1: old.map((e) => e + 1) }];
      for (const bad of misfits) {
        const r = await new HeatAnalysis(fakeHeat(rows).heat, deployments).analyse({ ...q, previousRows: bad });
        expect(r).toMatchObject({ verdict: 'fail', paired: false });
        expect(r.detail).toMatch(/unpaired: the previous rows do not fit the batch layers$/);
      }
      // without previous rows: unpaired as before, no logical load asked for
      const { heat, calls } = fakeHeat(rows);
      const r = await new HeatAnalysis(heat, deployments).analyse(q);
      expect(r).toMatchObject({ verdict: 'fail', paired: false });
      expect(calls.every((c) => (c as { numExperts?: number }).numExperts === undefined)).toBe(true);
    });

    it('passes unmeasured without baseline episodes, as the unpaired gate does', async () => {
      const r = await new HeatAnalysis(fakeHeat(skewedAfter(worse)).heat, deployments).analyse({ ...q, previousRows });
      expect(r).toMatchObject({ verdict: 'pass', paired: true });
      expect(r.detail).toMatch(/previous map would have had \d\.\d{3} after .*no episodes before the rollout to compare with: passed unmeasured$/);
    });
  });
});
