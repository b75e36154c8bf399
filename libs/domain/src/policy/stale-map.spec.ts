import { describe, expect, it } from 'vitest';
import { DeploymentShape } from '../shape/deployment-shape';
import { HeatEpisodes, windowSum } from '../heat/heat';
import { imbalance } from '../heat/imbalance';
import { layerTransfers } from '../transfer/transfer-plan';
import { getPolicy } from './registry';
import { LayerProblem, PlacementState } from './engine';
import { greedyLayer } from './greedy';
import { budgetFrontier } from './search-path';
import { binomialCdf, erfc, normalQuantile } from './distributions';
import { lcgUniform, zipfWindow, zipfWorkload } from '../simulation/zipf-windows';
import { heldOutScreen, holmFamilies, nullOrderStatistic, nullQuartileExceeds, oneWindowInflation, oneWindowZ, pooledNoise, staleVerdict } from './stale-map';

// 64 experts with zipf popularity on 8 ranks × 10 slots; a workload is a permutation of which
// expert holds which popularity rank, and each episode draws noise of ±15% around it
const E = 64, R = 8, S = 10, K = 16;
const shape: DeploymentShape = { numLayers: 2, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 };
const rnd = lcgUniform(11);
const workload = (shuffleSeed: number): number[] => zipfWorkload(E, shuffleSeed);
const episodes = (perm: number[], n: number): HeatEpisodes => Array.from({ length: n }, () => zipfWindow(perm, shape.numLayers, 20_000, 0.15, rnd));
const meanImbalance = (row: ArrayLike<number>, heat: HeatEpisodes, l: number): number =>
  heat.reduce((s, ep) => s + imbalance(row, ep[l], R, S), 0) / heat.length;
const totals = (map: number[][], current: readonly number[][]): number => map.reduce((s, row, l) => s + layerTransfers(current[l], row, S), 0);

describe('default on a map in service that its traffic has left (stale) or not (stationary)', () => {
  const old = workload(1), now = workload(2);
  const current = getPolicy('greedy')({ shape, heat: episodes(old, K) }).physicalToLogical;

  it('stays (nearly) still when the traffic is the one the map was planned for: at most 5% of greedy transfers, never worse next', () => {
    const seen = episodes(old, K), next = episodes(old, K);
    const d = getPolicy('default')({ shape, heat: seen, current });
    const g = getPolicy('greedy')({ shape, heat: seen, current });
    expect(totals(d.physicalToLogical, current)).toBeLessThanOrEqual(0.05 * totals(g.physicalToLogical, current));
    for (let l = 0; l < shape.numLayers; l++) {
      expect(meanImbalance(d.physicalToLogical[l], next, l)).toBeLessThanOrEqual(meanImbalance(current[l], next, l) + 0.005);
    }
    expect(d.layers.filter((r) => r.certainty?.stale).length).toBeLessThanOrEqual(1);
  });

  it('moves on a clear shift: far better than the map in service on the next interval, with a third of greedy transfers at most', () => {
    const seen = episodes(now, K), next = episodes(now, K);
    const d = getPolicy('default')({ shape, heat: seen, current });
    const g = getPolicy('greedy')({ shape, heat: seen, current });
    for (let l = 0; l < shape.numLayers; l++) {
      const cur = meanImbalance(current[l], next, l);
      const dn = meanImbalance(d.physicalToLogical[l], next, l);
      const gn = meanImbalance(g.physicalToLogical[l], next, l);
      // most of the excess the stale map leaves is gone; what is left is of the greedy's order (the
      // transfer budget leaves the last, dearest part of the gain: bench:policy reports the ratio per trace)
      expect(dn - 1).toBeLessThan(0.5 * (cur - 1));
      expect(dn - 1).toBeLessThan(3 * (gn - 1));
      const c = d.layers[l].certainty;
      expect(c?.basis).toBe('held-out');
      expect(c?.stale).toBe(true);
      expect(c!.gain).toBeGreaterThan(2 * c!.se);
    }
    expect(totals(d.physicalToLogical, current)).toBeLessThanOrEqual(totals(g.physicalToLogical, current) / 3 + 1e-9);
  });

  it('moves a layer shown stale to the lowest excess a frontier keeping the min-max counts reaches within the budget, on the problem it is moved on', () => {
    const seen = episodes(now, K);
    const screens = [0, 1].map((l) => heldOutScreen(seen, l, current[l], R, S, null));
    const noise = pooledNoise(screens);
    const families = holmFamilies(screens, noise);
    const oneShot = (heat: HeatEpisodes, l: number): LayerProblem => new LayerProblem(E, R, S, 1, [windowSum(heat, l)], Float64Array.of(1));
    for (let l = 0; l < shape.numLayers; l++) {
      const budget = Math.floor(layerTransfers(current[l], greedyLayer(windowSum(seen, l), R, S), S) / 3);
      // asked on the second half alone, moved on the whole window: the move is read on `moved`'s problem
      const move = { walked: () => oneShot(seen.slice(K >> 1), l), moved: () => oneShot(seen, l), older: () => oneShot(seen.slice(0, K >> 1), l), budget: () => budget };
      const v = staleVerdict(seen, l, current[l], R, S, move, { test: screens[l], noise, layers: shape.numLayers, family: families[l] }, 0.01);
      expect(v.row).not.toBeNull();
      const path = budgetFrontier(oneShot(seen, l), current[l], budget, undefined, -Infinity, true);
      const lowest = Math.min(...path.f.filter((_, i) => path.transfers[i] <= budget));
      const st = new PlacementState(oneShot(seen, l), v.row!);
      expect(st.objective()).toBeLessThanOrEqual(lowest + 1e-12);
      expect(v.transfers).toBeLessThanOrEqual(budget);
    }
  });

  it('spends at most the operator\'s share of a greedy re-plan\'s transfers, and more of a larger share', () => {
    const seen = episodes(now, K);
    const g = totals(getPolicy('greedy')({ shape, heat: seen, current }).physicalToLogical, current);
    const spent = (share: number): number =>
      totals(getPolicy('default')({ shape, heat: seen, current, options: { transferBudget: share } }).physicalToLogical, current);
    const few = spent(0.2), more = spent(0.6);
    expect(few).toBeGreaterThan(0);
    expect(few).toBeLessThanOrEqual(0.2 * g);
    expect(more).toBeLessThanOrEqual(0.6 * g);
    expect(more).toBeGreaterThan(few);
  });

  it('on one window (nothing to hold out) moves on a shift and says so, and stays on the traffic the map was made for', () => {
    const one = [episodes(now, K).reduce((acc, ep) => acc.map((h, l) => h.map((v, e) => v + ep[l][e])))];
    const d = getPolicy('default')({ shape, heat: one, current });
    for (let l = 0; l < shape.numLayers; l++) {
      expect(d.layers[l].certainty?.basis).toBe('one-window');
      expect(d.layers[l].certainty?.stale).toBe(true);
      expect(imbalance(d.physicalToLogical[l], one[0][l], R, S)).toBeLessThan(imbalance(current[l], one[0][l], R, S));
    }
    const planned = getPolicy('greedy')({ shape, heat: one }).physicalToLogical;
    const same = getPolicy('default')({ shape, heat: one, current: planned });
    expect(same.layers.every((r) => r.transfers === 0 || r.imbalanceAfter < r.imbalanceBefore!)).toBe(true);
  });
});

describe('the held-out test threshold', () => {
  it('is the one-sided 5% normal quantile, Bonferroni-corrected over the layers', async () => {
    const { staleZ } = await import('./stale-map');
    expect(staleZ(1)).toBeCloseTo(1.644854, 5);
    expect(staleZ(58)).toBeCloseTo(normalQuantile(1 - 0.05 / 58), 12);
    expect(staleZ(232)).toBeGreaterThan(staleZ(58));
  });

  it('widens to Student t on few held-out episodes', async () => {
    const { staleZ } = await import('./stale-map');
    expect(staleZ(12, 5)).toBeGreaterThan(staleZ(12, 8));
    expect(staleZ(12, 8)).toBeGreaterThan(staleZ(12));
  });
});

describe("Holm's step-down over the layers", () => {
  it('tests the most stale layer as in the whole family, each next one as in a family one smaller, and stops at the first not shown stale', async () => {
    const { holmFamilies, staleZ } = await import('./stale-map');
    const noise = { sd: 1, dof: 1000, fitSd: 0 };
    const screen = (mean: number) => ({ diffs: new Float64Array(4), mean, fresh: new Float64Array(4), plan: new Int32Array(0) });
    // se = 1/√4: a layer tested as in a family of m needs a mean above staleZ(m)/2
    const bar = (m: number): number => staleZ(m, noise.dof + 1) / 2;
    const between = (bar(5) + bar(4)) / 2; // short of Bonferroni over 5, enough for a family of 4
    const families = holmFamilies([screen(0), screen(2 * bar(5)), screen(between), null, screen(bar(3) / 2)], noise);
    expect(Array.from(families)).toEqual([3, 5, 4, 5, 3]);
  });
});

describe('a held-out test with little power', () => {
  it('lacks power only on a few pooled degrees of freedom', async () => {
    const { heldOutLacksPower } = await import('./stale-map');
    expect(heldOutLacksPower(2, 2)).toBe(true);
    expect(heldOutLacksPower(2, 3)).toBe(false);
    // dozens of layers pool enough freedom from two held-out episodes each
    expect(heldOutLacksPower(58, 58)).toBe(false);
  });

  it('defers to the one-window rule: a round-robin map under heavily skewed heat of 4 episodes is re-planned', () => {
    // 2 layers × 8 experts on 4 ranks × 3 slots; two hot sets alternate episode by episode
    const small: DeploymentShape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
    const current = [0, 1].map(() => [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]);
    const hotA = [4000, 2600, 300, 250, 200, 150, 120, 100];
    const hotB = [300, 250, 200, 150, 120, 100, 4000, 2600];
    const heat: HeatEpisodes = [hotA, hotB, hotA, hotB].map((h, k) => [0, 1].map((l) => Float64Array.from(h, (x, e) => x + ((k * 7 + e * 3 + l) % 5))));
    const res = getPolicy('default')({ shape: small, heat, current, options: { threshold: 0.02, minGain: 0.01 } });
    for (const [l, layer] of res.layers.entries()) {
      expect(layer.redeployed, `layer ${l}`).toBe(true);
      expect(layer.episodeAfter).toBeLessThan(layer.episodeBefore! - 0.05);
    }
  });
});

describe('the one-window threshold read from the layers themselves (oneWindowInflation)', () => {
  it('is the lower quartile of the layers\' z over the same order statistic of the counting null, when at least a quarter of them are not shown stale', () => {
    const zt = oneWindowZ(12);
    const zs = [0.5, 0.6, 0.8, 1.1, 1.5, 2.1, 2.3, 2.5, 2.7, 2.9, 3.9, 6.9];
    // of 12 layers the order statistic at or below the lower quartile is the 3rd smallest
    expect(oneWindowInflation(zs, zt)).toBeCloseTo(0.8 / nullOrderStatistic(12, 3), 12);
    // the order of the layers does not matter
    expect(oneWindowInflation([...zs].reverse(), zt)).toBe(oneWindowInflation(zs, zt));
  });

  it('is 1 when the layers fit the counting model, when more than three quarters are shown stale, and with no layers', () => {
    expect(oneWindowInflation([0, 0.1, 0.2, 0.3, 0.9, 1.2, 2, 30], oneWindowZ(8))).toBe(1);
    expect(oneWindowInflation([40, 52, 61, 70, 88, 113, 2, 75], oneWindowZ(8))).toBe(1);
    expect(oneWindowInflation([], oneWindowZ(8))).toBe(1);
  });

  it('keeps a deployment whose routing wanders more than counting on the map made for it, and still moves one whose traffic has gone', () => {
    // 12 layers; each window's expert levels wander ±3% about the workload's (beyond the counting
    // noise of 20 000 picks a rank): two windows of one workload differ, the workload stays
    const wide: DeploymentShape = { ...shape, numLayers: 12 };
    const window = (perm: number[]): HeatEpisodes => [zipfWindow(perm, wide.numLayers, 320_000, 0.03, rnd)];
    const old = workload(1);
    const current = getPolicy('greedy')({ shape: wide, heat: window(old) }).physicalToLogical;
    const same = getPolicy('default')({ shape: wide, heat: window(old), current });
    expect(same.layers.every((r) => r.transfers === 0 && r.certainty?.basis === 'one-window')).toBe(true);
    const shifted = getPolicy('default')({ shape: wide, heat: window(workload(2)), current });
    expect(shifted.layers.every((r) => r.certainty?.stale === true && r.transfers > 0)).toBe(true);
  });

  it('reads a null from a few layers whose lower quartile of z is just above the threshold: the point estimate of 12 layers is no evidence that more than three quarters are stale', () => {
    const zt = oneWindowZ(12);
    // the z of the 12 layers of a real one-window cut of unchanged traffic (Qwen1.5-MoE, 5 iterations summed)
    const zs = [1.2, 1.99, 2.61, 2.67, 2.87, 2.96, 3.16, 3.89, 4.01, 4.15, 4.58, 4.76];
    const q1 = 2.61 + 0.75 * (2.67 - 2.61);
    expect(q1).toBeGreaterThan(zt);
    expect(oneWindowInflation(zs, zt)).toBeCloseTo(2.61 / nullOrderStatistic(12, 3), 12);
    // every layer is held to the scaled threshold, which none clears
    expect(zs.every((z) => z < zt * oneWindowInflation(zs, zt))).toBe(true);
    // a new workload's layers, at tens of times the threshold, are still read as all stale
    expect(oneWindowInflation([47.2, 49.7, 58.1, 59.4, 79.8, 83.6, 86.2, 93.3, 96.4, 163.2, 175.3, 209.1], zt)).toBe(1);
  });

  it('reads the null from the fitting layers alone when exactly a quarter of them fit: the next layer up, a stale one, does not set the threshold', () => {
    const zt = oneWindowZ(12);
    // 3 of 12 layers fit their map (z of a few), 9 met a new workload (tens)
    const zs = [1.4, 2.3, 3.7, 49.6, 58.1, 59.4, 79.8, 83.6, 86.2, 93.3, 96.4, 163.2];
    const threshold = zt * oneWindowInflation(zs, zt);
    expect(zs.slice(0, 3).every((z) => z < threshold)).toBe(true);
    expect(zs.slice(3).every((z) => z > threshold)).toBe(true);
  });

  it('keeps a deployment on the map made for it when its routing wanders so that the quartile of 12 layers lands just above the threshold', () => {
    const wide: DeploymentShape = { ...shape, numLayers: 12 };
    const draw = lcgUniform(12);
    // each window's expert levels wander ±5% about the workload's
    const window = (perm: number[]): HeatEpisodes => [zipfWindow(perm, wide.numLayers, 320_000, 0.05, draw)];
    const old = workload(1);
    const current = getPolicy('greedy')({ shape: wide, heat: window(old) }).physicalToLogical;
    const same = getPolicy('default')({ shape: wide, heat: window(old), current });
    const zs = same.layers.map((r) => r.certainty!.gain / r.certainty!.se).sort((a, b) => a - b);
    // the case this is about: the lower quartile of the layers' z (three quarters of the way from
    // the 3rd to the 4th) clears the counting threshold
    expect(zs[2] + 0.75 * (zs[3] - zs[2])).toBeGreaterThan(oneWindowZ(12));
    expect(same.layers.every((r) => r.transfers === 0)).toBe(true);
    const shifted = getPolicy('default')({ shape: wide, heat: window(workload(2)), current });
    expect(shifted.layers.every((r) => r.certainty?.stale === true && r.transfers > 0)).toBe(true);
  });
});

describe('the typical j-th smallest of n draws of |N(0, 1)| (nullOrderStatistic)', () => {
  it('is the median of |N(0, 1)| for one draw, and for the 1st of n has an even chance that all n draws are above it', () => {
    expect(nullOrderStatistic(1, 1)).toBeCloseTo(normalQuantile(3 / 4), 9);
    const x = nullOrderStatistic(4, 1);
    // P(|N| ≥ x) = erfc(x / √2): all four draws above it with probability ½
    expect(erfc(x / Math.SQRT2) ** 4).toBeCloseTo(0.5, 6);
  });

  it('rises with j and falls with n, near the quantile j / (n + 1) of |N(0, 1)|', () => {
    expect(nullOrderStatistic(12, 4)).toBeGreaterThan(nullOrderStatistic(12, 3));
    expect(nullOrderStatistic(24, 3)).toBeLessThan(nullOrderStatistic(12, 3));
    // the median of the j-th of n uniforms is close to (j − 1/3) / (n + 1/3)
    expect(nullOrderStatistic(58, 15)).toBeCloseTo(normalQuantile((1 + (15 - 1 / 3) / (58 + 1 / 3)) / 2), 2);
  });
});

describe('how often a null shows a quartile of z this high (nullQuartileExceeds)', () => {
  it('is, at the threshold itself, the binomial chance that fewer than j of n layers fall below it (the null\'s quartile is there)', () => {
    const zt = oneWindowZ(12);
    expect(nullQuartileExceeds(12, 3, zt, zt)).toBeCloseTo(binomialCdf(2, 12, 0.25), 6);
    expect(nullQuartileExceeds(1, 1, zt, zt)).toBeCloseTo(0.75, 6);
  });

  it('falls as the quartile rises and with more layers, and is 1 at or below 0', () => {
    const zt = oneWindowZ(12);
    expect(nullQuartileExceeds(12, 3, 2 * zt, zt)).toBeLessThan(nullQuartileExceeds(12, 3, 1.5 * zt, zt));
    expect(nullQuartileExceeds(58, 15, 1.5 * zt, zt)).toBeLessThan(nullQuartileExceeds(12, 3, 1.5 * zt, zt));
    expect(nullQuartileExceeds(12, 3, 0, zt)).toBe(1);
    // a workload shift's quartile (tens of times the threshold) is beyond any null the rule reads, on 4 layers as on 58
    expect(nullQuartileExceeds(4, 1, 20 * oneWindowZ(4), oneWindowZ(4))).toBeLessThan(1e-6);
    expect(nullQuartileExceeds(58, 15, 10 * oneWindowZ(58), oneWindowZ(58))).toBeLessThan(1e-6);
  });
});
