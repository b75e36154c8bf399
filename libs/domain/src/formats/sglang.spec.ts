import { describe, expect, it } from 'vitest';
import { formatJson } from './common';
import { exportSglang, importSglang, parseSglang } from './sglang';
import { fieldOf } from '../../test/domain-error-field';

// Shaped like SGLang's `--init-expert-location` JSON: one row of P physical slots per model layer.
const FILE = '{"physical_to_logical_map": [[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 3, 3]]}';

describe('sglang import', () => {
  it('reads physical_to_logical_map with --ranks', () => {
    expect(parseSglang(FILE, { ranks: 3 })).toEqual({
      physicalToLogical: [
        [0, 1, 2, 3, 0, 1],
        [3, 2, 1, 0, 3, 3],
      ],
      numRanks: 3,
    });
  });

  it('needs --ranks, and --ranks must divide P', () => {
    expect(fieldOf(() => parseSglang(FILE))).toEqual({
      field: '--ranks',
      message: '--ranks: is required: SGLang map files do not record the EP size',
    });
    expect(fieldOf(() => parseSglang(FILE, { ranks: 4 }))).toEqual({
      field: '--ranks',
      message: '--ranks: 4 ranks do not divide the 6 slots of a layer',
    });
  });

  it('drops the dense layers before --first-moe-layer (rows are model layers), after checking them', () => {
    const withDense = {
      physical_to_logical_map: [
        [0, 1, 2, 3],
        [0, 1, 2, 3],
        [3, 2, 1, 0],
      ],
    };
    expect(importSglang(withDense, { ranks: 2, firstMoeLayer: 2 }).physicalToLogical).toEqual([[3, 2, 1, 0]]);
    expect(fieldOf(() => importSglang(withDense, { ranks: 2, firstMoeLayer: 3 }))).toEqual({
      field: '--first-moe-layer',
      message: '--first-moe-layer: is 3 but physical_to_logical_map has only 3 rows',
    });
  });

  it('writes filler rows for dense layers like SGLang init_trivial (p % E)', () => {
    const doc = exportSglang({ physicalToLogical: [[2, 1, 0, 2]], numRanks: 2 }, { firstMoeLayer: 2 });
    expect(doc).toEqual({
      physical_to_logical_map: [
        [0, 1, 2, 0],
        [0, 1, 2, 0],
        [2, 1, 0, 2],
      ],
    });
    expect(formatJson(doc)).toBe('{\n  "physical_to_logical_map": [\n    [0, 1, 2, 0],\n    [0, 1, 2, 0],\n    [2, 1, 0, 2]\n  ]\n}\n');
  });

  it('explains that a logical_count file is statistics to plan from, not a map', () => {
    expect(fieldOf(() => parseSglang('{"logical_count": [[[5, 1, 0, 2]]]}', { ranks: 2 }))).toEqual({
      field: 'logical_count',
      message: 'logical_count: this SGLang file holds expert load statistics, not a map; plan a map from it with `eplb plan`',
    });
  });

  it('rejects keys SGLang would pass to init_by_mapping and fail on', () => {
    expect(fieldOf(() => importSglang({ physical_to_logical_map: [[0, 1]], num_ranks: 1 }, { ranks: 1 }))).toEqual({
      field: 'num_ranks',
      message: 'num_ranks: unexpected key: SGLang passes every key to init_by_mapping and would fail on it',
    });
    expect(fieldOf(() => importSglang({ other: 1 }, { ranks: 1 }))).toEqual({
      field: 'physical_to_logical_map',
      message: 'physical_to_logical_map: is missing (keys found: other)',
    });
  });

  it('names the row and slot that break the rules', () => {
    expect(fieldOf(() => importSglang({ physical_to_logical_map: [[0, 1], [0, 'x']] }, { ranks: 1 }))).toEqual({
      field: 'physical_to_logical_map[1][1]',
      message: 'physical_to_logical_map[1][1]: must be a logical expert id (integer ≥ 0), got "x"',
    });
    expect(fieldOf(() => importSglang({ physical_to_logical_map: [[0, 1], [1, 1]] }, { ranks: 1 }))).toEqual({
      field: 'physical_to_logical_map[1]',
      message: 'physical_to_logical_map[1]: logical expert 0 has no replica (1 experts missing)',
    });
    expect(fieldOf(() => importSglang({ physical_to_logical_map: [[0, 1], [1, 0, 0]] }, { ranks: 1 })).field).toBe(
      'physical_to_logical_map[1]',
    );
    expect(fieldOf(() => importSglang({ physical_to_logical_map: [] }, { ranks: 1 })).message).toBe(
      'physical_to_logical_map: has no layers',
    );
  });
});
