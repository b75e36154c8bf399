import { describe, expect, it } from 'vitest';
import { imbalance } from '../heat/imbalance';
import { batchImbalance, decideImbalanceGate, decidePairedImbalanceGate, episodeStats, PairedEpisode } from './analysis';

/** A deterministic noisy series around `mean` (±amp, zero-mean pattern). */
const series = (mean: number, n: number, amp = 0.05) => Array.from({ length: n }, (_, i) => mean + amp * Math.sin(i * 2.399));

describe('episodeStats', () => {
  it('mean, sample sd and standard error', () => {
    const s = episodeStats([1, 2, 3, 4]);
    expect(s.n).toBe(4);
    expect(s.mean).toBe(2.5);
    expect(s.sd).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(s.se).toBeCloseTo(Math.sqrt(5 / 3) / 2, 12);
  });
  it('one value: no spread; none: NaN mean', () => {
    expect(episodeStats([1.3])).toEqual({ n: 1, mean: 1.3, sd: 0, se: 0 });
    expect(episodeStats([]).mean).toBeNaN();
  });
});

describe('batchImbalance', () => {
  it('averages the chosen layers only', () => {
    expect(batchImbalance([1.1, 2, 1.5, 9], [0, 2])).toBeCloseTo(1.3, 12);
  });
  it('refuses a layer the episode does not have, or no layers', () => {
    expect(() => batchImbalance([1.1], [3])).toThrow(/layer 3/);
    expect(() => batchImbalance([1.1], [])).toThrow(/no layers/);
  });
});

describe('decideImbalanceGate', () => {
  it('passes a clearly better map and says so', () => {
    const r = decideImbalanceGate(series(1.6, 40), series(1.2, 12));
    expect(r.verdict).toBe('pass');
    expect(r.change).toBeCloseTo(1.2 - 1.6, 1);
    expect(r.detail).toMatch(/1\.2\d\d after the commit \(12 episodes/);
    expect(r.detail).toMatch(/vs 1\.6\d\d before \(40 episodes/);
    expect(r.detail).toMatch(/−0\.\d+, better \(tolerance/);
  });

  it('fails a clearly worse map, naming the numbers', () => {
    const r = decideImbalanceGate(series(1.2, 40), series(1.5, 12));
    expect(r.verdict).toBe('fail');
    expect(r.change).toBeGreaterThan(r.tolerance);
    expect(r.detail).toMatch(/\+0\.3\d\d, worse by more than the tolerance \(tolerance 0\.\d+ = max\(0\.02, 2·SE/);
  });

  it('passes the same map measured again (noise only)', () => {
    const r = decideImbalanceGate(series(1.3, 64, 0.1), series(1.3, 8, 0.1).reverse());
    expect(r.verdict).toBe('pass');
    expect(Math.abs(r.change)).toBeLessThan(r.tolerance);
  });

  it('keeps the noise floor when the figures barely vary', () => {
    // worse by 0.015 with no spread at all: under the 0.02 floor
    expect(decideImbalanceGate([1.2, 1.2, 1.2], [1.215, 1.215]).verdict).toBe('pass');
    expect(decideImbalanceGate([1.2, 1.2, 1.2], [1.225, 1.225]).verdict).toBe('fail');
  });

  it('widens the tolerance with the noise: 2 standard errors of the difference', () => {
    const before = series(1.3, 16, 0.3);
    const after = series(1.42, 4, 0.3);
    const r = decideImbalanceGate(before, after);
    const se = Math.sqrt(episodeStats(before).se ** 2 + episodeStats(after).se ** 2);
    expect(r.se).toBeCloseTo(se, 12);
    expect(r.tolerance).toBeCloseTo(2 * se, 12);
    expect(r.tolerance).toBeGreaterThan(0.02);
    // the same shift with a tenth of the spread is significant
    expect(decideImbalanceGate(series(1.3, 16, 0.03), series(1.42, 4, 0.03)).verdict).toBe('fail');
  });

  it('takes its thresholds as options', () => {
    expect(decideImbalanceGate([1.2, 1.2], [1.25, 1.25], { minTolerance: 0.1, seMultiplier: 2 }).verdict).toBe('pass');
    expect(decideImbalanceGate([1.2, 1.2], [1.25, 1.25], { minTolerance: 0.01, seMultiplier: 2 }).verdict).toBe('fail');
  });

  it('without a baseline passes unmeasured, and says so', () => {
    const r = decideImbalanceGate([], [1.4, 1.5]);
    expect(r.verdict).toBe('pass');
    expect(r.detail).toMatch(/no episodes before the rollout.*passed unmeasured/);
  });

  it('needs at least one episode after the commit', () => {
    expect(() => decideImbalanceGate([1.2], [])).toThrow(/no episodes after/);
  });
});

describe('decidePairedImbalanceGate', () => {
  // 8 experts on 4 ranks × 3 slots; Zipf heat over a fixed heat order, skew `s`, ±10% per episode
  const R = 4;
  const S = 3;
  const hotOrder = [5, 2, 7, 0, 3, 6, 1, 4];
  const heat = (s: number, i: number) => {
    const h = new Array<number>(8);
    hotOrder.forEach((e, k) => (h[e] = (1000 / (k + 1) ** s) * (1 + 0.1 * Math.sin(i * 2.399 + k))));
    return h;
  };
  const oldRow = Array.from({ length: R * S }, (_, p) => p % 8); // round-robin: 0..3 replicated
  const better = [5, 2, 3, 7, 0, 6, 5, 2, 1, 7, 0, 4]; // the 4 hottest replicated, spread
  const worse = [5, 2, 7, 0, 3, 6, 1, 4, 0, 3, 6, 1]; // the 3 hottest alone, crowded on rank 0
  // the measurement sits a little above the even-split model (routing is not perfectly even)
  const gap = (i: number) => 0.04 + 0.02 * Math.sin(i * 1.7);
  const episodes = (row: number[], s: number, n: number, from: number): PairedEpisode[] =>
    Array.from({ length: n }, (_, k) => {
      const h = heat(s, from + k);
      return { measured: imbalance(row, h, R, S) + gap(from + k), counterfactual: imbalance(oldRow, h, R, S) };
    });
  const beforeMild = episodes(oldRow, 0.6, 32, 0);
  const unpaired = (b: PairedEpisode[], a: PairedEpisode[]) => decideImbalanceGate(b.map((e) => e.measured), a.map((e) => e.measured));

  it('heat more skewed after the commit: the unpaired gate fails a better map, the paired one passes it', () => {
    const after = episodes(better, 1.5, 8, 100);
    expect(unpaired(beforeMild, after).verdict).toBe('fail');
    const r = decidePairedImbalanceGate(beforeMild, after);
    expect(r.verdict).toBe('pass');
    expect(r.change).toBeLessThan(-r.tolerance);
    // the numbers: measured after, the old map on the same heat, the model's gap before
    expect(r.after.mean).toBeGreaterThan(r.before.mean);
    expect(r.counterfactualAfter).toBeGreaterThan(r.after.mean + 0.3);
    expect(r.gapBefore.mean).toBeCloseTo(0.04, 2);
    expect(r.change).toBeCloseTo(r.gapAfter.mean - r.gapBefore.mean, 12);
    expect(r.detail).toMatch(
      /^mean per-episode imbalance 1\.\d{3} after the commit \(8 episodes, sd 0\.\d{3}\) vs 1\.\d{3} before \(32 episodes, sd 0\.\d{3}\); on the same heat the previous map would have had 2\.\d{3} after \(modelled; measured − modelled −0\.\d{3}, sd 0\.\d{3}\), and the model's gap on the old map before was \+0\.04\d \(sd 0\.\d{3}\): paired change −0\.\d{3}, better \(tolerance 0\.\d{3} = max\(0\.02, 2·SE 0\.\d{3}\)\)$/,
    );
  });

  it('heat more skewed after the commit: a worse map still fails', () => {
    const r = decidePairedImbalanceGate(beforeMild, episodes(worse, 1.5, 8, 100));
    expect(r.verdict).toBe('fail');
    expect(r.detail).toMatch(/paired change \+0\.\d{3}, worse by more than the tolerance/);
  });

  it('heat less skewed after the commit: the unpaired gate passes a worse map, the paired one fails it', () => {
    const beforeSkewed = episodes(oldRow, 1.5, 32, 0);
    const after = episodes(worse, 0.3, 8, 100);
    expect(unpaired(beforeSkewed, after).verdict).toBe('pass');
    expect(decidePairedImbalanceGate(beforeSkewed, after).verdict).toBe('fail');
  });

  it('the old map again under drifting heat is within the tolerance: the drift and the model gap cancel', () => {
    const after = episodes(oldRow, 1.5, 8, 100);
    expect(unpaired(beforeMild, after).verdict).toBe('fail');
    const r = decidePairedImbalanceGate(beforeMild, after);
    expect(r.verdict).toBe('pass');
    expect(Math.abs(r.change)).toBeLessThan(0.01);
  });

  it('SE is the Welch SE of the two sets of differences, and the thresholds are options', () => {
    const b = [1.3, 1.35, 1.25, 1.3].map((m, i) => ({ measured: m, counterfactual: 1.25 + 0.01 * i }));
    const a = [1.4, 1.5, 1.45].map((m, i) => ({ measured: m, counterfactual: 1.3 + 0.02 * i }));
    const r = decidePairedImbalanceGate(b, a, { minTolerance: 0.01, seMultiplier: 3 });
    const gb = episodeStats(b.map((e) => e.measured - e.counterfactual));
    const ga = episodeStats(a.map((e) => e.measured - e.counterfactual));
    expect(r.se).toBeCloseTo(Math.sqrt(gb.se ** 2 + ga.se ** 2), 12);
    expect(r.tolerance).toBeCloseTo(Math.max(0.01, 3 * r.se), 12);
    expect(r.change).toBeCloseTo(ga.mean - gb.mean, 12);
    expect(r.verdict).toBe(r.change > r.tolerance ? 'fail' : 'pass');
  });

  it('without a baseline passes unmeasured, and says so; needs episodes after the commit', () => {
    const r = decidePairedImbalanceGate([], [{ measured: 1.4, counterfactual: 1.2 }]);
    expect(r.verdict).toBe('pass');
    expect(r.change).toBeNaN();
    expect(r.detail).toMatch(/previous map would have had 1\.200 after.*no episodes before the rollout to compare with: passed unmeasured$/);
    expect(() => decidePairedImbalanceGate([{ measured: 1, counterfactual: 1 }], [])).toThrow(/no episodes after/);
  });
});
