import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeatEpisodes } from '../heat/heat';
import { episodeImbalancesOfTwo } from './episode-imbalance';

/** One map's imbalance per episode, written the plain way: the oracle the two-map pass must match bit for bit. */
function episodeImbalances(heat: HeatEpisodes, layer: number, from: number, to: number, row: ArrayLike<number>, R: number, S: number): Float64Array {
  const E = heat[0][layer].length;
  const P = R * S;
  const reps = new Int32Array(E);
  for (let p = 0; p < P; p++) reps[row[p]]++;
  const out = new Float64Array(to - from);
  for (let k = from; k < to; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (total <= 0) {
      out[k - from] = 1;
      continue;
    }
    let m = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let load = 0;
      for (let j = 0; j < S; j++, p++) load += h[row[p]] / reps[row[p]];
      if (load > m) m = load;
    }
    out[k - from] = (m * R) / total;
  }
  return out;
}

/** A valid map: every expert once on the first E slots, the rest of the R·S slots drawn from `extra`. */
function mapOf(E: number, R: number, S: number, extra: number[], shift: number): number[] {
  const row = Array.from({ length: R * S }, (_, p) => (p < E ? (p + shift) % E : extra[p % extra.length] % E));
  return row;
}

describe('episodeImbalancesOfTwo', () => {
  it('gives, bit for bit, what the plain one-map pass gives for each map (an all-zero episode counts 1)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 24, maxLength: 24 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 23 }),
        (R, S, E0, extra, heats, shift) => {
          const E = Math.min(E0, R * S);
          // episode 0 all zero when its first heat is below 1000: the rule for empty episodes too
          const heat: HeatEpisodes = heats.map((h, k) => [Float64Array.from(h.slice(0, E), (x) => (k === 0 && h[0] < 1000 ? 0 : x))]);
          const a = mapOf(E, R, S, extra, 0);
          const b = mapOf(E, R, S, [...extra].reverse(), shift);
          const from = heat.length > 1 ? 1 : 0;
          const two = episodeImbalancesOfTwo(heat, 0, from, heat.length, a, b, R, S);
          expect(Array.from(two.a)).toEqual(Array.from(episodeImbalances(heat, 0, from, heat.length, a, R, S)));
          expect(Array.from(two.b)).toEqual(Array.from(episodeImbalances(heat, 0, from, heat.length, b, R, S)));
        },
      ),
    );
  });
});
