import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeploymentShape } from '../shape/deployment-shape';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { duplicatesOnRanks } from '../expert-map/replicas';
import { getPolicy, policyNames } from './registry';
import { reviveOnLiveRanks } from './exclude-ranks';

const liveExperts = (row: readonly number[], exclude: number[], S: number): Set<number> => {
  const out = new Set<number>();
  row.forEach((e, p) => {
    if (!exclude.includes(Math.floor(p / S))) out.add(e);
  });
  return out;
};

describe('planning around lost ranks (excludeRanks)', () => {
  const arb = fc
    .record({
      R: fc.integer({ min: 2, max: 8 }),
      S: fc.integer({ min: 1, max: 5 }),
      K: fc.integer({ min: 1, max: 6 }),
      lost: fc.integer({ min: 1, max: 3 }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
      withCurrent: fc.boolean(),
      policy: fc.constantFrom(...policyNames()),
    })
    .filter((c) => c.lost < c.R)
    .map((c) => {
      let s = c.seed;
      const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
      const exclude = Array.from({ length: c.R }, (_, r) => r).sort(() => rnd() - 0.5).slice(0, c.lost);
      const E = Math.max(1, Math.min((c.R - c.lost) * c.S, 1 + Math.floor(rnd() * c.R * c.S)));
      const shape: DeploymentShape = { numLayers: 2, numExperts: E, numRanks: c.R, slotsPerRank: c.S, numNodes: 1 };
      const heat = Array.from({ length: c.K }, () => Array.from({ length: 2 }, () => Float64Array.from({ length: E }, () => Math.floor(rnd() * 1000))));
      const P = c.R * c.S;
      const current = c.withCurrent
        ? Array.from({ length: 2 }, () => {
            const row = Array.from({ length: P }, (_, p) => (p < E ? p : Math.floor(rnd() * E)));
            for (let i = P - 1; i > 0; i--) {
              const j = Math.floor(rnd() * (i + 1));
              [row[i], row[j]] = [row[j], row[i]];
            }
            return row;
          })
        : undefined;
      return { shape, heat, current, exclude, policy: c.policy };
    });

  it('every logical expert keeps a replica on a live rank, the excluded ranks keep what they held, and the map is valid', () => {
    fc.assert(
      fc.property(arb, ({ shape, heat, current, exclude, policy }) => {
        const out = getPolicy(policy)({ shape, heat, current, options: { excludeRanks: exclude } });
        const S = shape.slotsPerRank;
        assertPhysicalToLogical(out.physicalToLogical, shape.numLayers, shape.numExperts, shape.numRanks * S);
        out.physicalToLogical.forEach((row, l) => {
          expect(liveExperts(row, exclude, S).size).toBe(shape.numExperts);
          for (const r of exclude) {
            const slots = row.slice(r * S, r * S + S);
            if (current) expect(slots).toEqual(current[l].slice(r * S, r * S + S));
            else expect(new Set(slots).size).toBe(Math.min(S, shape.numExperts));
          }
        });
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('revives each lost expert with exactly one transfer and moves nothing else', () => {
    // 4 ranks × 3 slots, rank 1 lost; experts 3 and 4 were only there
    const row = [0, 1, 2, 3, 4, 5, 0, 1, 6, 0, 2, 5];
    const h = [50, 40, 30, 20, 10, 9, 8];
    const sub = reviveOnLiveRanks(row, [0, 2, 3], 3, 7, h);
    const before = [0, 1, 2, 0, 1, 6, 0, 2, 5];
    expect(new Set(sub).size).toBe(7);
    expect(sub.filter((e, i) => e !== before[i])).toHaveLength(2);
    expect(duplicatesOnRanks(sub, 3)).toBe(0);
  });

  it('refuses when the live ranks cannot hold every expert, and names ranks that are not ranks', () => {
    const shape: DeploymentShape = { numLayers: 1, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 1 };
    const heat = [[Float64Array.from([8, 7, 6, 5, 4, 3, 2, 1])]];
    expect(() => getPolicy('default')({ shape, heat, options: { excludeRanks: [3] } })).toThrow(/excludeRanks: the 3 live ranks hold 6 slots/);
    expect(() => getPolicy('default')({ shape, heat, options: { excludeRanks: [4] } })).toThrow(/excludeRanks: rank 4 is not a rank/);
  });

  it('a lost rank on the 8-expert example: the 7 live ranks balance as well as greedy planned for 7 ranks', () => {
    const shape: DeploymentShape = { numLayers: 1, numExperts: 8, numRanks: 8, slotsPerRank: 2, numNodes: 1 };
    const heat = [[Float64Array.from([600, 560, 120, 120, 20, 10, 10, 10])]];
    const current = getPolicy('default')({ shape, heat }).physicalToLogical;
    const out = getPolicy('default')({ shape, heat, current, options: { excludeRanks: [0] } });
    expect(liveExperts(out.physicalToLogical[0], [0], 2).size).toBe(8);
    // the report is of the live ranks
    const seven = getPolicy('greedy')({ shape: { ...shape, numRanks: 7 }, heat }).layers[0].imbalanceAfter;
    expect(out.layers[0].imbalanceAfter).toBeLessThanOrEqual(seven + 1e-9);
  });
});
