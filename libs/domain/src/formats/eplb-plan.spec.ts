import { describe, expect, it } from 'vitest';
import { formatJson } from './common';
import { exportEplbPlan, importEplbPlan, parseEplbPlan } from './eplb-plan';
import { fieldOf } from '../../test/domain-error-field';

describe('eplb plan files', () => {
  it('reads a plan with report fields, taking R from --ranks', () => {
    const plan = { physical_to_logical: [[1, 0, 2, 2]], policy: 'greedy', imbalance_after: [1.02] };
    expect(importEplbPlan(plan, { ranks: 2 })).toEqual({ physicalToLogical: [[1, 0, 2, 2]], numRanks: 2 });
  });

  it('takes R from num_ranks, and --ranks must agree with it', () => {
    const text = formatJson(exportEplbPlan({ physicalToLogical: [[1, 0, 2, 2]], numRanks: 4 }));
    expect(text).toBe('{\n  "num_ranks": 4,\n  "physical_to_logical": [\n    [1, 0, 2, 2]\n  ]\n}\n');
    expect(parseEplbPlan(text).numRanks).toBe(4);
    expect(parseEplbPlan(text, { ranks: 4 }).numRanks).toBe(4);
    expect(fieldOf(() => parseEplbPlan(text, { ranks: 2 }))).toEqual({
      field: '--ranks',
      message: '--ranks: is 2 but the file says num_ranks 4',
    });
  });

  it('names the field that is wrong', () => {
    expect(fieldOf(() => importEplbPlan({ physical_to_logical: [[0, 1]] })).field).toBe('--ranks');
    expect(fieldOf(() => importEplbPlan({ num_ranks: 0, physical_to_logical: [[0, 1]] })).field).toBe('num_ranks');
    expect(fieldOf(() => importEplbPlan({ num_ranks: 3, physical_to_logical: [[0, 1]] }))).toEqual({
      field: 'num_ranks',
      message: 'num_ranks: 3 ranks do not divide the 2 slots of a layer',
    });
    expect(fieldOf(() => importEplbPlan({ num_ranks: 1, physical_to_logical: [[0, 1], [1, 1]] }))).toEqual({
      field: 'physical_to_logical[1]',
      message: 'physical_to_logical[1]: logical expert 0 has no replica (1 experts missing)',
    });
    expect(fieldOf(() => importEplbPlan({ num_ranks: 1, physical_to_logical: [[0, 1]] }, { experts: 1 })).field).toBe(
      'physical_to_logical[0][1]',
    );
    expect(fieldOf(() => importEplbPlan({ num_ranks: 1, heat: [] })).message).toBe(
      'physical_to_logical: is missing (this looks like a heat file; plan a map from it with `eplb plan`)',
    );
  });
});
