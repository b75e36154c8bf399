import { describe, expect, it } from 'vitest';
import { RouterModel, RouterModelOptions } from './router-model';

const base: RouterModelOptions = { numLayers: 4, numExperts: 64, tokensPerStep: 512, topK: 8, seed: 7 };

const run = (o: RouterModelOptions, steps: number): Int32Array[] => {
  const m = new RouterModel(o);
  return Array.from({ length: steps }, () => m.next());
};

/** Summed counts of one layer over steps [from, to). */
const layerSum = (steps: Int32Array[], layer: number, E: number, from: number, to: number): number[] => {
  const s = new Array<number>(E).fill(0);
  for (let t = from; t < to; t++) for (let e = 0; e < E; e++) s[e] += steps[t][layer * E + e];
  return s;
};

const top = (counts: number[], k: number): Set<number> =>
  new Set(counts.map((c, e) => [c, e] as const).sort((a, b) => b[0] - a[0]).slice(0, k).map(([, e]) => e));

const overlap = (a: Set<number>, b: Set<number>) => [...a].filter((x) => b.has(x)).length;

describe('RouterModel', () => {
  it('is deterministic by seed', () => {
    const o: RouterModelOptions = { ...base, scenarios: ['alternating', 'drift', 'spikes'] };
    expect(run(o, 20)).toEqual(run(o, 20));
    expect(run({ ...o, seed: 8 }, 20)).not.toEqual(run(o, 20));
  });

  it('gives every layer non-negative integer counts summing to tokens × topK, capped per token', () => {
    for (const scenarios of [['stationary'], ['drift'], ['alternating'], ['spikes'], ['alternating', 'drift', 'spikes']] as const) {
      for (const c of run({ ...base, scenarios, zipfExponent: 1.5 }, 30)) {
        for (let l = 0; l < base.numLayers; l++) {
          const row = Array.from(c.subarray(l * 64, (l + 1) * 64));
          expect(row.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
          expect(row.reduce((a, b) => a + b, 0)).toBe(512 * 8);
          // A share is capped at 1/topK: no expert far above the token count.
          expect(Math.max(...row)).toBeLessThan(512 * 1.2);
        }
      }
    }
  });

  it('keeps the sum with few tokens and with none', () => {
    for (const tokensPerStep of [0, 1, 3]) {
      for (const c of run({ ...base, tokensPerStep }, 5)) {
        for (let l = 0; l < base.numLayers; l++) {
          expect(Array.from(c.subarray(l * 64, (l + 1) * 64)).reduce((a, b) => a + b, 0)).toBe(tokensPerStep * 8);
        }
      }
    }
  });

  it('skews load by the Zipf exponent and keeps the hot set when stationary', () => {
    const steps = run({ ...base, scenarios: ['stationary'] }, 64);
    const first = layerSum(steps, 0, 64, 0, 32);
    const second = layerSum(steps, 0, 64, 32, 64);
    expect(overlap(top(first, 8), top(second, 8))).toBeGreaterThanOrEqual(7);
    const sorted = [...first].sort((a, b) => b - a);
    expect(sorted[0] / (sorted.reduce((a, b) => a + b) / 64)).toBeGreaterThan(3);
    const flat = layerSum(run({ ...base, zipfExponent: 0 }, 32), 0, 64, 0, 32);
    const flatMax = Math.max(...flat) / (flat.reduce((a, b) => a + b) / 64);
    expect(flatMax).toBeLessThan(1.5);
  });

  it('alternates: the hot set of one phase differs from the next and returns after a cycle', () => {
    const phaseSteps = 16;
    const steps = run({ ...base, scenarios: ['alternating'], phaseSteps, numHotSets: 2 }, 4 * phaseSteps);
    for (let l = 0; l < base.numLayers; l++) {
      const phases = [0, 1, 2, 3].map((k) => top(layerSum(steps, l, 64, k * phaseSteps, (k + 1) * phaseSteps), 8));
      expect(overlap(phases[0], phases[1])).toBeLessThanOrEqual(3);
      expect(overlap(phases[1], phases[2])).toBeLessThanOrEqual(3);
      expect(overlap(phases[0], phases[2])).toBeGreaterThanOrEqual(6);
      expect(overlap(phases[1], phases[3])).toBeGreaterThanOrEqual(6);
    }
  });

  it('drifts: the hot set moves gradually', () => {
    const steps = run({ ...base, scenarios: ['drift'], driftSteps: 8 }, 8 * 40);
    const at = (k: number) => top(layerSum(steps, 0, 64, k * 8, k * 8 + 8), 8);
    // One expert position per 8 steps: neighbouring windows mostly agree, far ones do not.
    expect(overlap(at(0), at(1))).toBeGreaterThanOrEqual(5);
    expect(overlap(at(0), at(30))).toBeLessThanOrEqual(2);
  });

  it('spikes: random experts become hot for a few steps', () => {
    const o: RouterModelOptions = { ...base, numLayers: 1, zipfExponent: 0, noise: 0, spikeRate: 0.5, spikeSteps: 4, spikeFactor: 20 };
    const flat = run(o, 40);
    const spiky = run({ ...o, scenarios: ['spikes'] }, 40);
    const peak = (s: Int32Array[]) => Math.max(...s.map((c) => Math.max(...c)));
    expect(peak(spiky)).toBeGreaterThan(3 * peak(flat));
  });

  it('rejects invalid options naming the field', () => {
    expect(() => new RouterModel({ ...base, numExperts: 0 })).toThrow(/numExperts/);
    expect(() => new RouterModel({ ...base, topK: 65 })).toThrow(/topK/);
    expect(() => new RouterModel({ ...base, scenarios: ['chaos' as never] })).toThrow(/scenario/);
  });
});
