import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';
import { ExpertMap, MAP_FORMATS, MapDocument, exportExpertMap, formatJson, importExpertMap, parseJson } from './index';
import { mapArbitrary } from '../../test/test-maps';

const pairs = MAP_FORMATS.flatMap((a) => MAP_FORMATS.map((b) => [a, b] as const));

describe('test map generator', () => {
  it('makes maps that satisfy the replica rule, with distinct slots per rank when asked', () => {
    fc.assert(
      fc.property(mapArbitrary({ distinctPerRank: true }), (m) => {
        const P = m.physicalToLogical[0].length;
        const E = Math.max(...m.physicalToLogical.flat()) + 1;
        assertPhysicalToLogical(m.physicalToLogical, m.physicalToLogical.length, E, P);
        const S = P / m.numRanks;
        for (const row of m.physicalToLogical) {
          for (let r = 0; r < m.numRanks; r++) {
            const ids = row.slice(r * S, (r + 1) * S);
            expect(new Set(ids).size).toBe(ids.length);
          }
        }
      }),
    );
  });
});

/** A document as it comes back from a file: nothing shared with what was written. */
const reread = (doc: MapDocument): unknown => JSON.parse(JSON.stringify(doc));

describe('round trips between every pair of formats (documents; the files\' text round-trips at the edge)', () => {
  for (const [from, to] of pairs) {
    it(`${from} → ${to} → canonical gives back the map`, () => {
      fc.assert(
        fc.property(
          mapArbitrary({ distinctPerRank: true }),
          fc.integer({ min: 0, max: 3 }),
          (map, firstMoeLayer) => {
            const opts = { ranks: map.numRanks, firstMoeLayer };
            const source = reread(exportExpertMap(from, map, opts));
            const converted = reread(exportExpertMap(to, importExpertMap(from, source, opts), opts));
            const back = importExpertMap(to, converted, opts);
            expect(back).toEqual(map);
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('maps with two replicas on one rank round-trip through sglang, trtllm and eplb', () => {
    const formats = ['sglang', 'trtllm', 'eplb'] as const;
    fc.assert(
      fc.property(mapArbitrary({ distinctPerRank: false }), fc.constantFrom(...formats), fc.constantFrom(...formats), (map, a, b) => {
        const opts = { ranks: map.numRanks };
        const converted = exportExpertMap(b, importExpertMap(a, reread(exportExpertMap(a, map)), opts));
        expect(importExpertMap(b, reread(converted), opts)).toEqual(map);
      }),
      { numRuns: 100 },
    );
  });
});

describe('format registry', () => {
  const map: ExpertMap = { physicalToLogical: [[0, 1, 2, 0]], numRanks: 2 };

  it('rejects unknown format names, naming --from / --to', () => {
    expect(() => importExpertMap('vllm', {})).toThrow(/^from: unknown map format "vllm" \(known: vllm-ascend, sglang, trtllm, eplb\)$/);
    expect(() => exportExpertMap('yaml', map)).toThrow(/^to: unknown map format "yaml"/);
  });

  it('reads JSON files that start with a byte order mark', () => {
    expect(importExpertMap('sglang', parseJson('\uFEFF{"physical_to_logical_map": [[1, 0]]}'), { ranks: 2 })).toEqual({
      physicalToLogical: [[1, 0]],
      numRanks: 2,
    });
  });

  it('reports invalid JSON as an input error', () => {
    try {
      parseJson('{"physical_to_logical_map": [[0, 1]');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).field).toBe('input');
      expect((err as DomainError).message).toMatch(/^input: is not valid JSON/);
    }
  });

  it('exporters refuse a canonical map that breaks the replica rule', () => {
    const bad: ExpertMap = { physicalToLogical: [[0, 1, 1, 3]], numRanks: 2 };
    for (const f of MAP_FORMATS) {
      expect(() => exportExpertMap(f, bad)).toThrow(/^physicalToLogical\[0\]: logical expert 2 has no replica/);
    }
    const ragged: ExpertMap = { physicalToLogical: [[0, 1, 2, 0], [0, 1, 2]], numRanks: 2 };
    expect(() => exportExpertMap('eplb', ragged)).toThrow(/^physicalToLogical\[1\]: has 3 slots, but physicalToLogical\[0\] has 4$/);
    expect(() => exportExpertMap('eplb', { physicalToLogical: [[0, 1, 2]], numRanks: 2 })).toThrow(
      /^numRanks: 2 ranks do not divide the 3 slots of a layer$/,
    );
  });
});

describe('formatJson', () => {
  it('puts one scalar array or flat object per line and stays valid JSON', () => {
    const value = { a: 1, rows: [[1, 2], [3, 4]], objs: [{ id: 0, xs: [5, 6] }], empty: [] as number[] };
    const text = formatJson(value);
    expect(text).toBe(
      '{\n  "a": 1,\n  "rows": [\n    [1, 2],\n    [3, 4]\n  ],\n  "objs": [\n    {"id": 0, "xs": [5, 6]}\n  ],\n  "empty": []\n}\n',
    );
    expect(JSON.parse(text)).toEqual(value);
  });
});
