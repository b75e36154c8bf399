import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeploymentShape, numSlots } from '../shape/deployment-shape';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { duplicatesOnRanks, replicaCounts } from '../expert-map/replicas';
import { imbalance, rankLoads } from '../heat/imbalance';
import { HeatEpisodes } from '../heat/heat';
import { getPolicy, policyNames } from './registry';
import { greedyLayer, packLpt, replicateMinMax } from './greedy';
import { LayerProblem, groupEpisodes } from './engine';
import { branchAndBound } from './bnb';

const TOY = [600, 560, 120, 120, 20, 10, 10, 10];
const toyShape: DeploymentShape = { numLayers: 1, numExperts: 8, numRanks: 8, slotsPerRank: 2, numNodes: 1 };
const maxLoad = (row: ArrayLike<number>, h: number[], R: number, S: number): number => Math.max(...rankLoads(row, h, R, S));
const heatOf = (episodes: number[][][]): HeatEpisodes => episodes.map((ep) => ep.map((l) => Float64Array.from(l)));

describe('the 8-expert example of the FlashLB work (8 ranks × 2 slots)', () => {
  const input = { shape: toyShape, heat: heatOf([[TOY]]) };

  it('greedy gives the classic 232', () => {
    const row = getPolicy('greedy')(input).physicalToLogical[0];
    expect(maxLoad(row, TOY, 8, 2)).toBeCloseTo(232, 9);
  });

  it.each(['flash', 'default'])('%s reaches the optimum 590/3 by search', (name) => {
    const row = getPolicy(name)(input).physicalToLogical[0];
    expect(maxLoad(row, TOY, 8, 2)).toBeLessThanOrEqual(590 / 3 + 1e-6);
  });

  it('the branch and bound proves 590/3 optimal: nothing below it exists', () => {
    const w = Float64Array.of(1);
    const pb = new LayerProblem(8, 8, 2, 1, [TOY], w);
    const best = branchAndBound(pb, Infinity, 10_000_000);
    expect(best.complete).toBe(true);
    expect(best.f * (1450 / 8)).toBeCloseTo(590 / 3, 6);
    const below = branchAndBound(pb, best.f - 1e-9, 10_000_000);
    expect(below.complete).toBe(true);
    expect(below.row).toBeNull();
  });
});

describe('greedy stages', () => {
  it('replicates by min-max replica load', () => {
    // 600 and 560 take the 8 extra slots in turn (600/5 = 120 ≥ 120 = the next-hottest singles)
    expect(Array.from(replicateMinMax(TOY, 16))).toEqual([5, 5, 1, 1, 1, 1, 1, 1]);
  });

  it('packs S slots per rank and never two replicas of one expert on a rank when avoidable', () => {
    const h = [100, 1, 1, 1];
    const row = packLpt(h, Int32Array.of(4, 2, 1, 1), 4, 2);
    expect(Array.from(replicaCounts(row, 4))).toEqual([4, 2, 1, 1]);
    expect(duplicatesOnRanks(row, 2)).toBe(0);
  });

  it('is a two-stage greedy: on uniform heat every rank gets the same load', () => {
    const h = Array.from({ length: 16 }, () => 5);
    expect(imbalance(greedyLayer(h, 4, 4), h, 4, 4)).toBeCloseTo(1, 12);
  });
});

describe('episode grouping', () => {
  it('puts the two phases of an alternating load into two shots and stationary noise into one', () => {
    const a = [10, 1, 1, 1, 5, 1, 1, 1];
    const b = [1, 1, 10, 1, 1, 1, 5, 1];
    const alt = groupEpisodes([a, b, a, b, a, b], new Float64Array(6).fill(1 / 6), 4, 0.7);
    expect(alt.episodes.length).toBe(2);
    expect(Array.from(alt.w).map((v) => v.toFixed(3))).toEqual(['0.500', '0.500']);
    const noisy = [a, a.map((v) => v + 0.3), a.map((v, i) => v + (i % 2) * 0.2)];
    expect(groupEpisodes(noisy, new Float64Array(3).fill(1 / 3), 4, 0.7).episodes.length).toBe(1);
  });
});

describe('alternating heat', () => {
  it('flash and default pair experts hot in different phases better than the window-sum greedy', () => {
    // 4 ranks × 2 slots, 8 experts; phase A heats 0..3, phase B heats 4..7; the window sum is flat,
    // so greedy cannot see that placing 0 with 1 (both hot in A) doubles rank load in A.
    const A = [9, 9, 9, 9, 1, 1, 1, 1];
    const B = [1, 1, 1, 1, 9, 9, 9, 9];
    const heat = heatOf([[A], [B], [A], [B]]);
    const shape: DeploymentShape = { numLayers: 1, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 1 };
    for (const name of ['flash', 'default']) {
      const row = getPolicy(name)({ shape, heat }).physicalToLogical[0];
      expect(imbalance(row, A, 4, 2)).toBeCloseTo(1, 9);
      expect(imbalance(row, B, 4, 2)).toBeCloseTo(1, 9);
    }
  });
});

// ---- property tests: every policy returns a valid map, on any shape and any heat

const shapeArb = fc
  .record({
    numRanks: fc.integer({ min: 1, max: 6 }),
    slotsPerRank: fc.integer({ min: 1, max: 4 }),
    numLayers: fc.integer({ min: 1, max: 2 }),
    episodes: fc.integer({ min: 1, max: 3 }),
    nodesPick: fc.integer({ min: 0, max: 5 }),
    expertsPick: fc.integer({ min: 0, max: 1000 }),
    kind: fc.constantFrom('random', 'zero', 'one-hot', 'E=P'),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    withCurrent: fc.boolean(),
  })
  .map((c) => {
    const P = c.numRanks * c.slotsPerRank;
    const divisors = Array.from({ length: c.numRanks }, (_, i) => i + 1).filter((d) => c.numRanks % d === 0);
    const numExperts = c.kind === 'E=P' ? P : 1 + (c.expertsPick % P);
    const shape: DeploymentShape = {
      numLayers: c.numLayers,
      numExperts,
      numRanks: c.numRanks,
      slotsPerRank: c.slotsPerRank,
      numNodes: divisors[c.nodesPick % divisors.length],
    };
    let s = c.seed;
    const rnd = (): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    const heat = Array.from({ length: c.episodes }, () =>
      Array.from({ length: c.numLayers }, () =>
        Float64Array.from({ length: numExperts }, (_, e) =>
          c.kind === 'zero' ? 0 : c.kind === 'one-hot' ? (e === 0 ? 1000 : 0) : Math.floor(rnd() * 100),
        ),
      ),
    );
    const current = c.withCurrent
      ? Array.from({ length: c.numLayers }, () => {
          const row = Array.from({ length: P }, (_, p) => (p < numExperts ? p : Math.floor(rnd() * numExperts)));
          for (let i = P - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [row[i], row[j]] = [row[j], row[i]];
          }
          return row;
        })
      : undefined;
    return { shape, heat, current };
  });

describe('invariants (fast-check)', () => {
  it.each(policyNames())('%s always returns a valid map, and its report matches it', (name) => {
    fc.assert(
      fc.property(shapeArb, ({ shape, heat, current }) => {
        const out = getPolicy(name)({ shape, heat, current });
        assertPhysicalToLogical(out.physicalToLogical, shape.numLayers, shape.numExperts, numSlots(shape));
        expect(out.layers).toHaveLength(shape.numLayers);
        for (const r of out.layers) {
          expect(r.imbalanceAfter).toBeGreaterThanOrEqual(1 - 1e-9);
          expect(r.episodeAfter).toBeGreaterThanOrEqual(1 - 1e-9);
          if (!current) expect(r.transfers).toBe(0);
        }
        // without a map in service, never two replicas of one expert on a rank when avoidable
        if (!current && shape.numExperts >= shape.slotsPerRank) {
          for (const row of out.physicalToLogical) expect(duplicatesOnRanks(row, shape.slotsPerRank)).toBe(0);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('default and incremental never make the seen objective worse than the map in service', () => {
    fc.assert(
      fc.property(shapeArb, ({ shape, heat, current }) => {
        if (!current) return;
        for (const name of ['default', 'incremental']) {
          const out = getPolicy(name)({ shape, heat, current });
          out.layers.forEach((r) => {
            if (!r.redeployed) expect(r.transfers).toBe(0);
          });
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('policy registry', () => {
  it('names the policies and rejects unknown ones naming the field', () => {
    expect(policyNames()).toEqual(expect.arrayContaining(['default', 'greedy', 'flash', 'incremental']));
    expect(() => getPolicy('nope')).toThrow(/^policy: unknown policy "nope"/);
  });

  it('rejects heat that does not fit the shape, naming the cell', () => {
    const heat = heatOf([[TOY], [TOY.slice(0, 7)]]);
    expect(() => getPolicy('greedy')({ shape: toyShape, heat })).toThrow('heat[1][0]: has 7 experts, expected 8');
  });
});

describe('drifting heat (default plans for a forecast of the drift)', () => {
  // zipf popularity whose ranking moves on by one expert every 4 episodes, with a little noise
  const E = 32, R = 4, S = 10, K = 16;
  const shape: DeploymentShape = { numLayers: 1, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 };
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const episode = (t: number, drift: boolean): number[] => {
    const shift = drift ? t / 4 : 0;
    return Array.from({ length: E }, (_, e) => {
      const j = (((e - shift) % E) + E) % E;
      return Math.round(10_000 / (j + 1) * (0.9 + 0.2 * rnd()));
    });
  };
  const series = (from: number, drift: boolean): HeatEpisodes => heatOf(Array.from({ length: K }, (_, k) => [episode(from + k, drift)]));
  const meanPeak = (row: ArrayLike<number>, heat: HeatEpisodes): number =>
    heat.reduce((s, ep) => s + imbalance(row, ep[0], R, S), 0) / heat.length;

  it('driftRatio tells drift (≫ 1) from stationary noise and from alternation (≪ 1)', async () => {
    const { driftRatio } = await import('./drift');
    expect(driftRatio(series(0, true), 0)).toBeGreaterThan(10);
    expect(driftRatio(series(0, false), 0)).toBeLessThan(10);
    const alt = heatOf(Array.from({ length: K }, (_, k) => [episode(k % 2 ? 0 : 16, true)]));
    expect(driftRatio(alt, 0)).toBeLessThan(1);
  });

  it('heatPersists: drift and alternation persist from episode to episode, noise and one-off spikes do not', async () => {
    const { heatPersists } = await import('./drift');
    const saved = seed; // the next test's heat is drawn after the driftRatio test's, as before
    expect(heatPersists(series(0, true), 0)).toBe(true);
    expect(heatPersists(heatOf(Array.from({ length: K }, (_, k) => [episode(k % 2 ? 0 : 16, true)])), 0)).toBe(true);
    expect(heatPersists(series(0, false), 0)).toBe(false);
    // stationary heat with a burst on a random expert in some episodes
    const spiky = heatOf(
      Array.from({ length: K }, (_, k) => {
        const ep = episode(k, false);
        if (k % 3 === 0) ep[(k * 7 + 3) % E] += 20_000;
        return [ep];
      }),
    );
    expect(heatPersists(spiky, 0)).toBe(false);
    seed = saved;
  });

  it('forecastShots plans no farther than the window forecasts: horizons with a quarter of its episodes as pairs', async () => {
    const { forecastReach, forecastShots } = await import('./drift');
    expect([4, 8, 16, 32].map(forecastReach)).toEqual([3, 6, 12, 24]);
    const saved = seed;
    const heat = series(0, true);
    seed = saved;
    // asked for the whole next window, the shots are those of the reach
    expect(forecastShots(heat, 0, K, 4, K)).toEqual(forecastShots(heat, 0, K, 4, forecastReach(K)));
    // within the reach the horizon is kept: a shorter one forecasts nearer shares
    expect(forecastShots(heat, 0, K, 4, 4)).not.toEqual(forecastShots(heat, 0, K, 4, forecastReach(K)));
  });

  it('plans a short window of drift for the forecast too, which the persistence test reads as noise', async () => {
    const { heatPersists } = await import('./drift');
    const saved = seed;
    const n = 8;
    const window = (from: number): HeatEpisodes => heatOf(Array.from({ length: n }, (_, k) => [episode(from + 2 * k, true)]));
    const before = window(0), seen = window(2 * n), next = window(4 * n);
    seed = saved;
    expect(heatPersists(seen, 0)).toBe(false);
    const current = getPolicy('greedy')({ shape, heat: before }).physicalToLogical;
    const d = getPolicy('default')({ shape, heat: seen, current });
    const g = getPolicy('greedy')({ shape, heat: seen, current });
    expect(meanPeak(d.physicalToLogical[0], next) - 1).toBeLessThanOrEqual(0.6 * (meanPeak(g.physicalToLogical[0], next) - 1));
  });

  it('beats the stale map in service, and greedy by the drift target, on the next interval with at most 2/3 of greedy transfers', () => {
    const before = series(0, true), seen = series(K, true), next = series(2 * K, true);
    const current = getPolicy('greedy')({ shape, heat: before }).physicalToLogical;
    const d = getPolicy('default')({ shape, heat: seen, current });
    const g = getPolicy('greedy')({ shape, heat: seen, current });
    assertPhysicalToLogical(d.physicalToLogical, 1, E, R * S);
    const dNext = meanPeak(d.physicalToLogical[0], next);
    expect(dNext).toBeLessThan(meanPeak(current[0], next));
    expect(dNext).toBeLessThanOrEqual(meanPeak(g.physicalToLogical[0], next) + 1e-9);
    // the drift target: at most 60% of greedy's excess on the next interval (here ~44%, at 20 of
    // greedy's 31 transfers: on 32 experts and 4 ranks each transfer buys much; on the drift
    // traces of bench:policy default moves ~21% of greedy's)
    expect(dNext - 1).toBeLessThanOrEqual(0.6 * (meanPeak(g.physicalToLogical[0], next) - 1));
    expect(d.layers[0].transfers).toBeLessThanOrEqual((g.layers[0].transfers * 2) / 3);
  });
});
