import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { heatFileFromBytes, heatFileFromText } from './heat-file-text';
import { heatFileToInput } from './heat-file';

/** What the general path makes of the same text. */
const general = (text: string): ReturnType<typeof heatFileToInput> => heatFileToInput(JSON.parse(text));

/** The input with its heat as plain arrays, so that two inputs compare by value. */
const plain = (input: ReturnType<typeof heatFileToInput>): unknown => ({
  ...input,
  heat: input.heat.map((ep) => ep.map((h) => Array.from(h))),
});

const doc = {
  num_ranks: 4,
  num_nodes: 2,
  slots_per_rank: 2,
  num_groups: 2,
  heat: [
    [[5, 0, 12.5, 3], [1e3, 2.5e-3, 7, 0.1]],
    [[123456789012345678, 1, 1, 1], [0, 0, 0, 9]],
  ],
  current: [[0, 1, 2, 3, 0, 1, 2, 3], [3, 2, 1, 0, 3, 2, 1, 0]],
};

describe('heatFileFromText', () => {
  it('reads a plain file as the general path does: integers, fractions, exponents, long digit runs, spacing', () => {
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2), JSON.stringify(doc, null, '\t').replace(/\n/g, '\r\n')]) {
      const read = heatFileFromText(text);
      expect(read).not.toBeNull();
      expect(plain(read!)).toEqual(plain(general(text)));
    }
  });

  it('reads the bytes of a UTF-8 file, a byte-order mark and names beyond ASCII included, as the general path reads its text', () => {
    const text = JSON.stringify({ deployment: 'dsv3-é ☃', ...doc, note: 'ü' });
    for (const bytes of [new TextEncoder().encode(text), Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)])]) {
      const read = heatFileFromBytes(bytes);
      expect(read).not.toBeNull();
      expect(plain(read!)).toEqual(plain(general(text)));
    }
  });

  it('leaves every heat of any rectangular array of non-negative numbers as JSON.parse reads it', () => {
    const heats = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }))
      .chain(([K, L, E]) =>
        fc.array(fc.array(fc.array(fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e300, noNaN: true })), { minLength: E, maxLength: E }), { minLength: L, maxLength: L }), {
          minLength: K,
          maxLength: K,
        }),
      );
    fc.assert(
      fc.property(heats, (heat) => {
        const text = JSON.stringify({ num_ranks: 1, num_nodes: 1, slots_per_rank: heat[0][0].length, heat });
        const read = heatFileFromText(text);
        expect(read).not.toBeNull();
        expect(plain(read!)).toEqual(plain(general(text)));
      }),
    );
  });

  it('gives null for what only the general path can judge, so its errors name the field', () => {
    const withHeat = (heat: string): string => `{"num_ranks": 1, "num_nodes": 1, "slots_per_rank": 2, "heat": ${heat}}`;
    for (const heat of ['[[[1, -2]]]', '[[[1, -0]]]', '[[[1, 2]], [[1]]]', '[[[1, 2]], [[1, 2], [3, 4]]]', '[]', '[[]]', '[[[]]]', '[[[1, "2"]]]', '[[[1, 1e999]]]', '[[[1, 01]]]', '[[[1, 2.]]]', '[[[1, 2]]]]']) {
      expect(heatFileFromText(withHeat(heat))).toBeNull();
    }
    for (const text of ['', '[]', '{}', '{"num_ranks": 1}', `${withHeat('[[[1, 2]]]')} x`, '{"heat": [[[1]]], "num_ranks": [1}', '{"heat": [[[1]]], "heat": [[[2]]]}']) {
      expect(heatFileFromText(text)).toBeNull();
    }
  });

  it('checks the other fields as heatFileToInput does', () => {
    const cases: [string, string][] = [
      [JSON.stringify({ ...doc, num_ranks: 0 }), 'num_ranks: must be a positive integer, got 0'],
      ['{"__proto__": 1, "heat": [[[1]]]}', 'num_ranks: is missing'],
      [JSON.stringify({ ...doc, current: [[0]] }), 'current'],
    ];
    for (const [text, message] of cases) {
      expect(() => general(text)).toThrow(message);
      let full = '';
      try {
        general(text);
      } catch (err) {
        full = (err as Error).message;
      }
      expect(() => heatFileFromText(text)).toThrow(full);
    }
  });
});
