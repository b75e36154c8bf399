import fc from 'fast-check';
import type { ExpertMap } from '../src/formats/common';

/**
 * Random valid maps for the format specs.
 * `distinctPerRank` keeps each rank's slots distinct, which vllm-ascend requires.
 */
export function mapArbitrary(options: { distinctPerRank: boolean }): fc.Arbitrary<ExpertMap> {
  return fc
    .record({
      numRanks: fc.integer({ min: 1, max: 6 }),
      slotsPerRank: fc.integer({ min: 1, max: 5 }),
      numLayers: fc.integer({ min: 1, max: 4 }),
      spareFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer(),
    })
    .map(({ numRanks, slotsPerRank, numLayers, spareFraction, seed }) => {
      const numSlots = numRanks * slotsPerRank;
      // E between S (so distinct-per-rank is possible) and P.
      const minE = options.distinctPerRank ? slotsPerRank : 1;
      const numExperts = minE + Math.floor(spareFraction * (numSlots - minE));
      const rand = mulberry32(seed);
      const rows = Array.from({ length: numLayers }, () =>
        options.distinctPerRank
          ? distinctRow(numRanks, slotsPerRank, numExperts, rand)
          : anyRow(numSlots, numExperts, rand),
      );
      return { physicalToLogical: rows, numRanks };
    });
}

function anyRow(numSlots: number, numExperts: number, rand: () => number): number[] {
  const ids = Array.from({ length: numSlots }, (_, p) => (p < numExperts ? p : Math.floor(rand() * numExperts)));
  return shuffle(ids, rand);
}

function distinctRow(numRanks: number, slotsPerRank: number, numExperts: number, rand: () => number): number[] {
  const label = shuffle(Array.from({ length: numExperts }, (_, e) => e), rand);
  const ranks: number[][] = Array.from({ length: numRanks }, () => []);
  for (let e = 0; e < numExperts; e++) ranks[e % numRanks].push(e); // ≤ ⌈E/R⌉ ≤ S each
  for (const slots of ranks) {
    const missing = shuffle(
      Array.from({ length: numExperts }, (_, e) => e).filter((e) => !slots.includes(e)),
      rand,
    );
    while (slots.length < slotsPerRank) slots.push(missing.pop()!);
  }
  return ranks.flatMap((slots) => shuffle(slots.map((e) => label[e]), rand));
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
