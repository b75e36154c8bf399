import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeploymentShape, numSlots, nodeOfRank } from '../shape/deployment-shape';
import { alignToCurrent, applyTransferPlan, inverseTransferPlan, layerTransfers, planTransfers } from './transfer-plan';

const rankSet = (row: number[], r: number, S: number): number[] => [...new Set(row.slice(r * S, r * S + S))].sort((a, b) => a - b);

const mapsArb = fc
  .record({
    R: fc.integer({ min: 1, max: 6 }),
    S: fc.integer({ min: 1, max: 4 }),
    L: fc.integer({ min: 1, max: 3 }),
    nodesPick: fc.nat(),
    ePick: fc.nat(),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .map(({ R, S, L, nodesPick, ePick, seed }) => {
    const P = R * S;
    const E = 1 + (ePick % P);
    const divisors = Array.from({ length: R }, (_, i) => i + 1).filter((d) => R % d === 0);
    const shape: DeploymentShape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: divisors[nodesPick % divisors.length] };
    let s = seed;
    const rnd = (n: number): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return Math.floor((s / 2147483648) * n);
    };
    const randomRow = (): number[] => {
      const row = Array.from({ length: P }, (_, p) => (p < E ? p : rnd(E)));
      for (let i = P - 1; i > 0; i--) {
        const j = rnd(i + 1);
        [row[i], row[j]] = [row[j], row[i]];
      }
      return row;
    };
    const current = Array.from({ length: L }, randomRow);
    // next: mostly the current map with a few slots changed, or a fresh map
    const next = current.map((row) => {
      if (rnd(3) === 0) return randomRow();
      const out = row.slice();
      for (let i = rnd(P + 1); i > 0; i--) {
        const p = rnd(P), q = rnd(P);
        [out[p], out[q]] = [out[q], out[p]];
      }
      return out;
    });
    return { shape, current, next };
  });

describe('transfer plan (fast-check)', () => {
  it('applying the plan to the current map gives the new map, and the inverse plan gives it back', () => {
    fc.assert(
      fc.property(mapsArb, ({ shape, current, next }) => {
        const plan = planTransfers(shape, current, next, 1000);
        expect(applyTransferPlan(shape, current, plan)).toEqual(next);
        const back = inverseTransferPlan(shape, current, next, 1000);
        expect(applyTransferPlan(shape, next, back)).toEqual(current);
      }),
      { numRuns: 200 },
    );
  });

  it('counts transfers as experts arriving at a rank that lacked them, bytes = transfers × expert bytes, sources prefer the rank, then the node', () => {
    fc.assert(
      fc.property(mapsArb, ({ shape, current, next }) => {
        const S = shape.slotsPerRank;
        const plan = planTransfers(shape, current, next, 7);
        let total = 0;
        for (const lp of plan.layers) {
          expect(lp.transfers).toBe(layerTransfers(current[lp.layer], next[lp.layer], S));
          expect(lp.bytes).toBe(lp.transfers * 7);
          total += lp.transfers;
          for (const [r, recs] of lp.receives.entries()) {
            const had = new Set(current[lp.layer].slice(r * S, r * S + S));
            for (const rec of recs) {
              expect(Math.floor(rec.slot / S)).toBe(r);
              if (had.has(rec.expert)) expect(rec.link).toBe('local');
              if (rec.link === 'remote') {
                // no rank of the same node held it
                for (let r2 = 0; r2 < shape.numRanks; r2++) {
                  if (nodeOfRank(shape, r2) !== nodeOfRank(shape, r)) continue;
                  expect(current[lp.layer].slice(r2 * S, r2 * S + S)).not.toContain(rec.expert);
                }
              }
            }
          }
        }
        expect(plan.transfers).toBe(total);
        expect(plan.bytes).toBe(total * 7);
      }),
      { numRuns: 200 },
    );
  });

  it('alignToCurrent keeps each rank’s experts, keeps experts in their slots, and never adds moves', () => {
    fc.assert(
      fc.property(mapsArb, ({ shape, current, next }) => {
        const S = shape.slotsPerRank;
        for (let l = 0; l < shape.numLayers; l++) {
          const aligned = alignToCurrent(current[l], next[l], S);
          for (let r = 0; r < shape.numRanks; r++) {
            expect(aligned.slice(r * S, r * S + S).sort()).toEqual(next[l].slice(r * S, r * S + S).sort());
            expect(rankSet(aligned, r, S)).toEqual(rankSet(next[l], r, S));
          }
          // an expert present on a rank before and after sits in one of its old slots
          for (let p = 0; p < numSlots(shape); p++) {
            const r = Math.floor(p / S);
            const e = current[l][p];
            if (next[l].slice(r * S, r * S + S).includes(e)) {
              const kept = aligned.slice(r * S, r * S + S).filter((x, j) => x === e && current[l][r * S + j] === e).length;
              expect(kept).toBeGreaterThan(0);
            }
          }
          const movedBefore = next[l].filter((e, p) => e !== current[l][p]).length;
          const movedAfter = aligned.filter((e, p) => e !== current[l][p]).length;
          expect(movedAfter).toBeLessThanOrEqual(movedBefore);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('transfer plan examples', () => {
  const shape: DeploymentShape = { numLayers: 1, numExperts: 4, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
  it('takes from the same rank, then the same node, then the least busy sender', () => {
    const current = [[0, 1, 2, 3, 0, 1, 2, 3]];
    // rank 0 swaps its slots (local copies); rank 1 wants 0 (held on node 0 by rank 0) and
    // moves 2 to its other slot; rank 3 wants 1 (held by ranks 0 and 2; rank 2 is on its node)
    const next = [[1, 0, 0, 2, 0, 1, 1, 3]];
    const plan = planTransfers(shape, current, next, 100);
    const [r0, r1, , r3] = plan.layers[0].receives;
    expect(r0.map((x) => x.link)).toEqual(['local', 'local']);
    expect(r1).toEqual([
      { slot: 2, expert: 0, source: 0, link: 'node' },
      { slot: 3, expert: 2, source: 1, link: 'local' },
    ]);
    expect(r3).toEqual([{ slot: 6, expert: 1, source: 2, link: 'node' }]);
    expect(plan.transfers).toBe(2);
    expect(plan.bytes).toBe(200);
    expect(plan.layers[0].localCopies).toBe(3);
  });

  it('rejects maps that break the replica rule, naming them', () => {
    expect(() => planTransfers(shape, [[0, 1, 2, 3, 0, 1, 2, 3]], [[0, 0, 0, 0, 0, 0, 0, 0]])).toThrow(/^next\[0\]: logical expert 1 has no replica/);
  });
});

describe('policy outputs are slot-aligned to the map in service', () => {
  it('greedy and flash keep every expert a rank keeps in its old slot', async () => {
    const { getPolicy } = await import('../policy/registry');
    const shape: DeploymentShape = { numLayers: 1, numExperts: 6, numRanks: 3, slotsPerRank: 3, numNodes: 1 };
    const current = [[5, 4, 3, 2, 1, 0, 0, 1, 2]];
    const heat = [[Float64Array.of(50, 40, 30, 20, 10, 5)]];
    for (const name of ['greedy', 'flash']) {
      const next = getPolicy(name)({ shape, heat, current }).physicalToLogical[0];
      for (let p = 0; p < 9; p++) {
        const r = Math.floor(p / 3);
        if (next.slice(r * 3, r * 3 + 3).includes(current[0][p])) expect(next[p]).toBe(current[0][p]);
      }
    }
  });
});
