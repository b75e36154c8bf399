import { describe, expect, it } from 'vitest';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { layerTransfers } from '../transfer/transfer-plan';
import { propose, ProposalSettings } from './propose';

const shape = { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
// Balanced for flat heat: each rank holds one single expert (100) and halves of two doubled ones (50 + 50).
const current = Array.from({ length: shape.numLayers }, () => [4, 0, 1, 5, 1, 2, 6, 2, 3, 7, 3, 0]);
const settings: ProposalSettings = { policy: 'default', threshold: 0.05, minGain: 0.01, maxTransfers: null, expertBytes: 1000 };
const episodes = (perEpisode: (k: number, l: number) => number[]) =>
  Array.from({ length: 8 }, (_, k) => Array.from({ length: shape.numLayers }, (_, l) => Float64Array.from(perEpisode(k, l))));

describe('propose', () => {
  it('decides nothing is worth deploying when heat is flat', () => {
    const p = propose(shape, episodes(() => [100, 100, 100, 100, 100, 100, 100, 100]), current, settings);
    expect(p.status).toBe('nothing');
    expect(p.chosenLayers).toEqual([]);
    expect(p.candidate).toEqual(current);
    expect(p.reason).toMatch(/no layer's projected gain/);
  });

  it('proposes the layers whose skewed heat it can balance, with figures per layer', () => {
    // layers 0 and 2 skewed (hot experts 0 and 1 share rank 0); layer 1 flat
    const p = propose(shape, episodes((k, l) => (l === 1 ? [50, 50, 50, 50, 50, 50, 50, 50] : [900, 700, 40, 40, 30, 20, 20, 10])), current, settings);
    expect(p.status).toBe('proposed');
    expect(p.chosenLayers).toEqual([0, 2]);
    assertPhysicalToLogical(p.candidate, 3, 8, 12);
    expect(p.candidate[1]).toEqual(current[1]);
    for (const l of p.chosenLayers) {
      expect(p.layers[l].candidate).toBeLessThan(p.layers[l].current - 0.01);
      expect(p.layers[l].transfers).toBe(layerTransfers(current[l], p.candidate[l], 3));
    }
    expect(p.transfers).toBe(p.layers[0].transfers + p.layers[2].transfers);
    expect(p.bytes).toBe(p.transfers * 1000);
    expect(p.candidateMean).toBeLessThan(p.currentMean);
  });

  it('keeps within the transfer budget, best gain per transfer first', () => {
    const skewed = episodes((k, l) => (l === 0 ? [900, 700, 40, 40, 30, 20, 20, 10] : [600, 10, 10, 10, 10, 10, 10, 500]));
    const free = propose(shape, skewed, current, settings);
    const budget = Math.max(...free.chosenLayers.map((l) => free.layers[l].transfers));
    const capped = propose(shape, skewed, current, { ...settings, maxTransfers: budget });
    expect(capped.transfers).toBeLessThanOrEqual(budget);
    expect(capped.chosenLayers.length).toBeLessThan(free.chosenLayers.length);
    expect(capped.reason).toMatch(/cut by the transfer budget/);
    const none = propose(shape, skewed, current, { ...settings, maxTransfers: 0 });
    expect(none.status).toBe('nothing');
    expect(none.reason).toMatch(/exceed the transfer budget of 0/);
  });

  it('plans around lost ranks: every layer that would leave an expert unserved is proposed, even past the transfer budget', () => {
    // rank 0 holds [4, 0, 1]: 4 has no other replica, so it is lost with the rank
    const flat = episodes(() => [100, 100, 100, 100, 100, 100, 100, 100]);
    const p = propose(shape, flat, current, { ...settings, maxTransfers: 0, excludeRanks: [0] });
    expect(p.chosenLayers).toEqual([0, 1, 2]);
    for (const row of p.candidate) {
      const live = new Set(row.slice(3));
      expect(live.size).toBe(8);
      expect(row.slice(0, 3)).toEqual(current[0].slice(0, 3));
    }
  });
});

