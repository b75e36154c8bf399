import { describe, expect, it } from 'vitest';
import { batchImbalance, decideImbalanceGate, episodeStats } from './analysis';

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
