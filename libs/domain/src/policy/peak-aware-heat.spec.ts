import { describe, expect, it } from 'vitest';
import { meanShareHeat, peakAwareHeat } from './peak-aware-heat';

// one layer, 8 experts on 4 ranks × 2 slots (one replica each), episodes given expert by expert
const R = 4, S = 2;
const episodes = (perExpert: number[][]): Float64Array[][] => perExpert[0].map((_, k) => [Float64Array.from(perExpert.map((xs) => xs[k]))]);
const flat = (K: number, x = 100): number[] => Array.from({ length: K }, () => x);
const w = (K: number): Float64Array => new Float64Array(K).fill(1 / K);

describe('peakAwareHeat', () => {
  it('returns the mean shares, scaled to a mean rank load of 1, when there are too few episodes to see any wandering', () => {
    const heat = episodes([[300, 100], [100, 300], ...Array.from({ length: 6 }, () => [100, 100])]);
    const h = peakAwareHeat(heat, 0, R, S, w(2));
    expect(h[0]).toBeCloseTo(0.5 * (3 + 1) * (R / 10), 12);
    expect(h[1]).toBeCloseTo(h[0], 12);
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(R, 12);
  });

  it('plans an expert whose traffic wanders as hotter than a steady one of the same mean', () => {
    const K = 8;
    const wandering = Array.from({ length: K }, (_, k) => (k & 1 ? 160 : 40));
    const heat = episodes([wandering, flat(K), ...Array.from({ length: 6 }, (_, e) => Array.from({ length: K }, (_, k) => 100 + ((k + e) % 3) - 1))]);
    const h = peakAwareHeat(heat, 0, R, S, w(K));
    expect(h[0]).toBeGreaterThan(h[1] * 1.05);
    // the steady experts keep about their mean share (R / 8 each)
    for (let e = 1; e < 8; e++) expect(h[e]).toBeLessThan(0.5 * 1.05);
  });

  it('does not take a burst in one episode, about the typical level, for wandering', () => {
    const K = 8;
    const burst = flat(K).map((x, k) => (k === 3 ? 4 * x : x));
    const wandering = Array.from({ length: K }, (_, k) => (k & 1 ? 160 : 40));
    const heat = episodes([wandering, flat(K), burst, ...Array.from({ length: 5 }, () => flat(K))]);
    // the typical level (shares of the total), as layerStats gives it: 1/8 each
    const level = new Float64Array(8).fill(1 / 8);
    const h = peakAwareHeat(heat, 0, R, S, w(K), level);
    expect(h[2]).toBeCloseTo(h[1], 2);
    expect(h[0]).toBeGreaterThan(h[2] * 1.05);
  });
});

describe('meanShareHeat', () => {
  it('is each expert\'s mean share over the episodes, each episode weighed by its weight whatever its total: nothing added for wandering', () => {
    const K = 8;
    // expert 0 wanders (peakAwareHeat plans it as hotter); episodes of different totals
    const wandering = Array.from({ length: K }, (_, k) => (k & 1 ? 160 : 40));
    const perExpert = [wandering, ...Array.from({ length: 7 }, (_, e) => Array.from({ length: K }, (_, k) => (1 + (k % 2)) * (100 + e)))];
    const heat = episodes(perExpert);
    const h = meanShareHeat(heat, 0, R, new Float64Array(K).fill(1));
    for (let e = 0; e < 8; e++) {
      let mean = 0;
      for (let k = 0; k < K; k++) mean += (perExpert[e][k] * R) / perExpert.reduce((t, xs) => t + xs[k], 0) / K;
      expect(h[e]).toBeCloseTo(mean, 12);
    }
    expect(h.reduce((a, b) => a + b, 0)).toBeCloseTo(R, 12);
    expect(peakAwareHeat(heat, 0, R, S, new Float64Array(K).fill(1))[0]).toBeGreaterThan(h[0]);
  });
});
