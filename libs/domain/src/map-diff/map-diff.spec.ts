import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { DeploymentShape } from '../shape/deployment-shape';
import { layerTransfers } from '../transfer/transfer-plan';
import { diffMaps } from './map-diff';

// 2 layers, 4 experts, 2 nodes × 1 rank × 3 slots: rank 0 = slots 0..2, rank 1 = slots 3..5
const shape: DeploymentShape = { numLayers: 2, numExperts: 4, numRanks: 2, slotsPerRank: 3, numNodes: 2 };
const v1 = [
  [0, 1, 2, 3, 0, 1],
  [0, 1, 2, 3, 0, 1],
];

describe('diffMaps', () => {
  it('is all zeros between a map and itself', () => {
    const d = diffMaps(shape, v1, v1, 1000);
    expect(d.totals).toEqual({ layersChanged: 0, slotsChanged: 0, transfers: 0, localCopies: 0, bytes: 0 });
    expect(d.layers.map((l) => l.layer)).toEqual([0, 1]);
  });

  it('counts slots changed, transfers, local copies and bytes per layer', () => {
    const v2 = [
      [0, 1, 2, 3, 0, 1], // unchanged
      // rank 0: slot 1 takes 0 (rank 0 holds 0 → local copy), slot 2 takes 3 (held by rank 1 only → transfer)
      // rank 1: slot 3 takes 1 and slot 5 takes 3 (both held → local copies), slot 4 takes 2 (transfer)
      [0, 0, 3, 1, 2, 3],
    ];
    const d = diffMaps(shape, v1, v2, 1 << 20);
    expect(d.layers[0]).toEqual({ layer: 0, slotsChanged: 0, transfers: 0, localCopies: 0, bytes: 0, ranksTouched: 0 });
    expect(d.layers[1]).toEqual({ layer: 1, slotsChanged: 5, transfers: 2, localCopies: 3, bytes: 2 << 20, ranksTouched: 2 });
    expect(d.totals).toEqual({ layersChanged: 1, slotsChanged: 5, transfers: 2, localCopies: 3, bytes: 2 << 20 });
  });

  it('an expert arriving twice on one rank is one transfer and one local copy', () => {
    const v2 = [v1[0], [0, 1, 2, 3, 2, 2]]; // rank 1 gets expert 2 into slots 4 and 5
    const d = diffMaps(shape, v1, v2, 10);
    expect(d.layers[1]).toMatchObject({ slotsChanged: 2, transfers: 1, localCopies: 1, bytes: 10, ranksTouched: 1 });
  });

  it('names the broken row of either map', () => {
    const bad = [v1[0], [0, 1, 2, 2, 0, 1]]; // expert 3 missing from layer 1
    const field = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        if (err instanceof DomainError) return err.field;
        throw err;
      }
      return undefined;
    };
    expect(field(() => diffMaps(shape, v1, bad))).toBe('next[1]');
    expect(field(() => diffMaps(shape, bad, v1))).toBe('current[1]');
  });

  it('agrees with the transfer definition on random maps, and every changed slot is a transfer or a local copy', () => {
    const arb = fc
      .record({ R: fc.integer({ min: 1, max: 5 }), S: fc.integer({ min: 1, max: 4 }), L: fc.integer({ min: 1, max: 3 }), seed: fc.integer({ min: 1, max: 2 ** 30 }) })
      .map(({ R, S, L, seed }) => {
        const P = R * S;
        const E = Math.max(1, P - (seed % S));
        let s = seed;
        const rnd = (n: number) => {
          s = (s * 1103515245 + 12345) % 2147483648;
          return Math.floor((s / 2147483648) * n);
        };
        const row = () => {
          const r = Array.from({ length: P }, (_, p) => (p < E ? p : rnd(E)));
          for (let i = P - 1; i > 0; i--) {
            const j = rnd(i + 1);
            [r[i], r[j]] = [r[j], r[i]];
          }
          return r;
        };
        return { shape: { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 }, a: Array.from({ length: L }, row), b: Array.from({ length: L }, row) };
      });
    fc.assert(
      fc.property(arb, ({ shape: sh, a, b }) => {
        const d = diffMaps(sh, a, b, 7);
        d.layers.forEach((l, i) => {
          expect(l.transfers).toBe(layerTransfers(a[i], b[i], sh.slotsPerRank));
          expect(l.bytes).toBe(l.transfers * 7);
          // the planner refills each changed slot once: by a transfer (first arrival of an expert on
          // a rank) or a local copy; so changed slots ≥ transfers, and = transfers + local copies
          expect(l.slotsChanged).toBe(l.transfers + l.localCopies);
        });
        expect(diffMaps(sh, b, a).totals.slotsChanged).toBe(d.totals.slotsChanged);
      }),
      { numRuns: 200 },
    );
  });
});
