import { describe, expect, it } from 'vitest';
import { exportTrtllm, importTrtllm } from './trtllm';
import { fieldOf } from '../../test/domain-error-field';

// The document of the file TensorRT-LLM's examples/wide_ep/ep_load_balancer/generate_eplb_config.py
// writes (yaml.dump: sorted keys, layer_updates_per_iter), keys = model layer ids starting after 3
// dense layers as in its README; small numbers here. Its YAML text is read at the edge
// (contracts' map files), which tests the text itself.
const rows = [
  [5, 1, 0, 2, 4, 3, 5, 0],
  [2, 4, 3, 1, 0, 5, 2, 1],
  [0, 1, 2, 3, 4, 5, 0, 1],
];

const GENERATED = { initial_global_assignments: { 3: rows[0], 4: rows[1], 5: rows[2] }, layer_updates_per_iter: 0, num_slots: 8 };
const withLayer = (key: number, row: number[]) => ({ ...GENERATED, initial_global_assignments: { ...GENERATED.initial_global_assignments, [key]: row } });

describe('trtllm import', () => {
  it('reads a generate_eplb_config.py-style document with --first-moe-layer', () => {
    expect(importTrtllm(GENERATED, { ranks: 2, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 2 });
    expect(importTrtllm(GENERATED, { ranks: 4, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 4 });
  });

  it('tells the user which --first-moe-layer the keys imply', () => {
    expect(fieldOf(() => importTrtllm(GENERATED, { ranks: 2 }))).toEqual({
      field: 'initial_global_assignments',
      message:
        'initial_global_assignments: first layer key is 3 but --first-moe-layer is 0; keys are model layer ids, pass --first-moe-layer 3 if the first 3 layers are dense',
    });
  });

  it('rejects gaps in the layer keys', () => {
    const doc = { num_slots: 2, initial_global_assignments: { 0: [0, 1], 2: [1, 0] } };
    expect(fieldOf(() => importTrtllm(doc, { ranks: 1 })).message).toBe(
      'initial_global_assignments: layer keys must be consecutive from 0: 1 is missing',
    );
  });

  it('needs --ranks that divides num_slots', () => {
    expect(fieldOf(() => importTrtllm(GENERATED, { firstMoeLayer: 3 })).field).toBe('--ranks');
    expect(fieldOf(() => importTrtllm(GENERATED, { ranks: 3, firstMoeLayer: 3 })).message).toBe(
      '--ranks: 3 ranks do not divide the 8 slots of a layer',
    );
  });

  it('checks each list against num_slots and the replica rule, naming the layer key', () => {
    expect(fieldOf(() => importTrtllm(withLayer(4, [2, 4, 3, 1, 0, 5, 2]), { ranks: 2, firstMoeLayer: 3 }))).toEqual({
      field: 'initial_global_assignments[4]',
      message: 'initial_global_assignments[4]: has 7 slots, but num_slots is 8',
    });
    expect(fieldOf(() => importTrtllm(withLayer(5, [0, 1, 2, 3, 4, 4, 0, 1]), { ranks: 2, firstMoeLayer: 3 }))).toEqual({
      field: 'initial_global_assignments[5]',
      message: 'initial_global_assignments[5]: logical expert 5 has no replica (1 experts missing)',
    });
    expect(fieldOf(() => importTrtllm(GENERATED, { ranks: 2, firstMoeLayer: 3, experts: 5 })).field).toBe(
      'initial_global_assignments[3][0]',
    );
    expect(fieldOf(() => importTrtllm(withLayer(3, [5, 1, 0, 2, 4, 3, '5' as unknown as number, 0]), { ranks: 2, firstMoeLayer: 3 })).field).toBe(
      'initial_global_assignments[3][6]',
    );
  });

  it('rejects keys MoeLoadBalancerConfig does not have, and documents without a map', () => {
    expect(fieldOf(() => importTrtllm({ moe_config: { 1: [0] } }, { ranks: 1 })).message).toMatch(
      /^moe_config: unexpected key: .* \(give the load balancer file itself, not the LLM API options file\)$/,
    );
    expect(fieldOf(() => importTrtllm({ num_slots: 288, layer_updates_per_iter: 2 }, { ranks: 36 }))).toEqual({
      field: 'initial_global_assignments',
      message:
        "initial_global_assignments: is missing: this file has no map (TensorRT-LLM would start from its default placement)",
    });
    expect(fieldOf(() => importTrtllm({ initial_global_assignments: { 0: [0] } }, { ranks: 1 })).field).toBe('num_slots');
    expect(fieldOf(() => importTrtllm(null, { ranks: 1 })).field).toBe('input');
  });
});

describe('trtllm export', () => {
  it('writes num_slots and one list per layer, keyed from --first-moe-layer', () => {
    const doc = exportTrtllm({ physicalToLogical: rows, numRanks: 2 }, { firstMoeLayer: 3 });
    expect(doc).toEqual({ num_slots: 8, initial_global_assignments: { 3: rows[0], 4: rows[1], 5: rows[2] } });
    expect(importTrtllm(doc, { ranks: 2, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 2 });
  });
});
