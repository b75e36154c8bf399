import { describe, expect, it } from 'vitest';
import { roundRobinMap } from '../expert-map/initial-map';
import { ClusterSimulator } from './cluster';
import { RouterModel } from './router-model';
import { compileLayerMap, peakToAverage, rankSlice, rankTotals, slotLoads } from './slot-loads';

describe('slotLoads', () => {
  it('splits evenly, remainder one each to the first replicas in slot order', () => {
    // Expert 0 on slots 0, 3, 5; expert 1 on 1; expert 2 on 2 and 4.
    const row = [0, 1, 2, 0, 2, 0];
    expect(Array.from(slotLoads([10, 7, 5], row))).toEqual([4, 7, 3, 3, 2, 3]);
    expect(Array.from(slotLoads([2, 0, 1], row))).toEqual([1, 0, 1, 1, 0, 0]);
  });

  it('preserves each logical count exactly, for random maps and counts', () => {
    let seed = 1;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let trial = 0; trial < 200; trial++) {
      const E = 1 + rand(20);
      const P = E + rand(20);
      const row = Array.from({ length: P }, (_, p) => (p < E ? p : rand(E)));
      const counts = Array.from({ length: E }, () => rand(1000));
      const out = slotLoads(counts, compileLayerMap(row, E));
      const back = new Array<number>(E).fill(0);
      row.forEach((e, p) => (back[e] += out[p]));
      expect(back).toEqual(counts);
      // Replicas of one expert differ by at most one.
      for (let e = 0; e < E; e++) {
        const parts = row.flatMap((x, p) => (x === e ? [out[p]] : []));
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('reads one layer of a flat L×E array by offset, and slices ranks', () => {
    const counts = [1, 2, 3, 10, 20, 30];
    const out = slotLoads(counts, [0, 1, 2, 0], undefined, 3);
    expect(Array.from(out)).toEqual([5, 20, 30, 5]);
    expect(Array.from(rankSlice(out, 1, 2))).toEqual([30, 5]);
    expect(Array.from(rankTotals(out, 2))).toEqual([25, 35]);
    expect(peakToAverage(rankTotals(out, 2))).toBeCloseTo(35 / 30);
  });
});

describe('ClusterSimulator', () => {
  const shape = { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 3 };
  const model = () => new RouterModel({ numLayers: 3, numExperts: 8, tokensPerStep: 100, topK: 2, seed: 3, zipfExponent: 1 });
  const rr = roundRobinMap({ ...shape, numNodes: 1 }).map((row) => ({ version: 1, physicalToLogical: row }));

  it('sums slot loads back to the logical counts under the map in force', () => {
    const sim = new ClusterSimulator(shape, model(), rr);
    const s = sim.next();
    for (let l = 0; l < 3; l++) {
      const back = new Array<number>(8).fill(0);
      rr[l].physicalToLogical.forEach((e, p) => (back[e] += s.slots[l * 12 + p]));
      expect(back).toEqual(Array.from(s.logical.subarray(l * 8, (l + 1) * 8)));
    }
    expect(Array.from(s.layerVersions)).toEqual([1, 1, 1]);
  });

  it('follows a layer map change from the next step on, and only on that layer', () => {
    const a = new ClusterSimulator(shape, model(), rr);
    const b = new ClusterSimulator(shape, model(), rr);
    const a0 = a.next();
    const b0 = b.next();
    expect(a0.slots).toEqual(b0.slots);
    // Layer 1 moves to a different map: expert 7 gets the redundant slots instead of 0..3.
    const moved = [7, 1, 2, 3, 4, 5, 6, 0, 7, 7, 7, 7];
    b.setLayerMap(1, { version: 2, physicalToLogical: moved });
    const a1 = a.next();
    const b1 = b.next();
    expect(a1.logical).toEqual(b1.logical); // same routing
    expect(b1.slots.subarray(0, 12)).toEqual(a1.slots.subarray(0, 12));
    expect(b1.slots.subarray(24, 36)).toEqual(a1.slots.subarray(24, 36));
    expect(b1.slots.subarray(12, 24)).not.toEqual(a1.slots.subarray(12, 24));
    expect(Array.from(b1.slots.subarray(12, 24))).toEqual(Array.from(slotLoads(b1.logical, moved, undefined, 8)));
    expect(Array.from(b1.layerVersions)).toEqual([1, 2, 1]);
  });

  it('refuses a map that breaks the replica rule', () => {
    const sim = new ClusterSimulator(shape, model(), rr);
    expect(() => sim.setLayerMap(0, { version: 2, physicalToLogical: new Array(12).fill(0) })).toThrow(/no replica/);
  });
});
