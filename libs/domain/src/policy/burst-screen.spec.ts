import { describe, expect, it } from 'vitest';
import { DeploymentShape } from '../shape/deployment-shape';
import { HeatEpisodes } from '../heat/heat';
import { RouterModel, ScenarioKind } from '../simulation/router-model';
import { layerTransfers } from '../transfer/transfer-plan';
import { getPolicy } from './registry';
import { layerStats } from './layer-stats';
import { greedyLayer } from './greedy';
import { burstFreeEpisodes, burstScreen, burstVerdict } from './burst-screen';

const E = 64, R = 8, S = 10, L = 6, K = 16;
const shape: DeploymentShape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 };

/** Two windows of K episodes of 16 router steps each, one after the other. */
function windows(scenario: ScenarioKind, seed: number): [HeatEpisodes, HeatEpisodes] {
  const model = new RouterModel({ numLayers: L, numExperts: E, tokensPerStep: 256, topK: 6, seed, scenarios: [scenario], spikeSteps: 8 });
  const step = new Int32Array(L * E);
  const window = (): HeatEpisodes =>
    Array.from({ length: K }, () => {
      const ep = Array.from({ length: L }, () => new Float64Array(E));
      for (let s = 0; s < 16; s++) {
        model.next(step);
        for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) ep[l][e] += step[l * E + e];
      }
      return ep;
    });
  return [window(), window()];
}

function verdictOn(scenario: ScenarioKind, seed: number) {
  const [before, seen] = windows(scenario, seed);
  const current = getPolicy('greedy')({ shape, heat: before }).physicalToLogical;
  const screens = Array.from({ length: L }, (_, l) => burstScreen(seen, l, current[l], greedyLayer(layerStats(seen, l, K - (K >> 1)).olderLevel, R, S), R, S));
  return { before, seen, current, verdict: burstVerdict(screens) };
}

describe('burstFreeEpisodes', () => {
  it('clips a burst on one expert to its typical share and leaves plain wandering alone', () => {
    const heat: HeatEpisodes = Array.from({ length: 8 }, (_, k) => [Float64Array.from({ length: 4 }, (_, e) => (e === 0 && k === 3 ? 700 : 100 + ((k * 7 + e * 3) % 5)))]);
    const clipped = burstFreeEpisodes(heat, 0, 0, 8);
    // the burst episode: expert 0 held 700 / 1009 of the load; clipped near its typical quarter
    expect(clipped[3][0][0]).toBeLessThan(0.27);
    // an episode without a burst keeps its shares
    const total = heat[1][0].reduce((s, x) => s + x, 0);
    for (let e = 1; e < 4; e++) expect(clipped[1][0][e]).toBeCloseTo(heat[1][0][e] / total, 3);
  });
});

describe('burstVerdict', () => {
  it('calls a map planned on a window with random bursts fitted to them, and default moves within a third of greedy transfers', () => {
    const { seen, current, verdict } = verdictOn('spikes', 5);
    expect(verdict.fitted).toBe(true);
    expect(verdict.gain).toBeGreaterThan(3 * verdict.se);
    const d = getPolicy('default')({ shape, heat: seen, current }).physicalToLogical;
    const g = getPolicy('greedy')({ shape, heat: seen, current }).physicalToLogical;
    const moved = d.reduce((s, row, l) => s + layerTransfers(current[l], row, S), 0);
    const greedyMoved = g.reduce((s, row, l) => s + layerTransfers(current[l], row, S), 0);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(greedyMoved / 3);
  });

  it('does not call a map planned on stationary heat like the window fitted to anything', () => {
    for (const seed of [5, 6, 7]) expect(verdictOn('stationary', seed).verdict.fitted).toBe(false);
  });
});
