import { describe, expect, it } from 'vitest';
import { formatJson } from './common';
import { exportVllmAscend, importVllmAscend, parseVllmAscend } from './vllm-ascend';
import { fieldOf } from '../../test/domain-error-field';

// Same data and layout as vllm-ascend's tests/ut/eplb/core/a2/expert_map.json (1 MoE layer,
// 2 devices × 5 slots, 8 logical experts; experts 7 and 2 have two replicas).
const UPSTREAM_EXAMPLE = `{
    "moe_layer_count":
    1,
    "layer_list": [{
        "layer_id":
        0,
        "device_count":
        2,
        "device_list": [{
            "device_id": 0,
            "device_expert": [7, 2, 0, 3, 5]
        }, {
            "device_id": 1,
            "device_expert": [6, 1, 4, 7, 2]
        }]
    }]
}`;

const twoLayers = () => ({
  moe_layer_count: 2,
  layer_list: [
    { layer_id: 0, device_count: 2, device_list: [{ device_id: 0, device_expert: [0, 1, 2] }, { device_id: 1, device_expert: [3, 0, 1] }] },
    { layer_id: 1, device_count: 2, device_list: [{ device_id: 0, device_expert: [3, 2, 1] }, { device_id: 1, device_expert: [0, 1, 2] }] },
  ],
});

describe('vllm-ascend import', () => {
  it('reads the upstream example file', () => {
    const map = parseVllmAscend(UPSTREAM_EXAMPLE);
    expect(map).toEqual({ physicalToLogical: [[7, 2, 0, 3, 5, 6, 1, 4, 7, 2]], numRanks: 2 });
  });

  it('writes back the same structure vllm-ascend writes (layer_id/device_id from 0, device_count)', () => {
    const text = formatJson(exportVllmAscend(parseVllmAscend(UPSTREAM_EXAMPLE)));
    expect(JSON.parse(text)).toEqual(JSON.parse(UPSTREAM_EXAMPLE));
    // One device per line keeps big maps readable.
    expect(text).toContain('\n        {"device_id": 1, "device_expert": [6, 1, 4, 7, 2]}\n');
  });

  it('ignores extra keys, as vllm-ascend does', () => {
    const doc = { ...twoLayers(), note: 'recorded by hand' };
    expect(importVllmAscend(doc).physicalToLogical).toEqual([
      [0, 1, 2, 3, 0, 1],
      [3, 2, 1, 0, 1, 2],
    ]);
  });

  it('accepts --ranks when it matches and --experts larger than the ids used', () => {
    expect(importVllmAscend(twoLayers(), { ranks: 2 }).numRanks).toBe(2);
    expect(() => importVllmAscend(twoLayers(), { experts: 5 })).toThrow(/^layer_list\[0\]: logical expert 4 has no replica/);
  });

  it('rejects devices with different slot counts (needs a fixed S)', () => {
    const doc = twoLayers();
    doc.layer_list[1].device_list[1].device_expert = [0, 1];
    expect(fieldOf(() => importVllmAscend(doc))).toEqual({
      field: 'layer_list[1].device_list[1].device_expert',
      message:
        'layer_list[1].device_list[1].device_expert: has 2 slots, but layer_list[0].device_list[0] has 3: every device needs the same number of slots',
    });
  });

  it('rejects a layer where an expert has no replica, naming the layer', () => {
    const doc = twoLayers();
    doc.layer_list[1].device_list[0].device_expert = [0, 2, 1];
    expect(fieldOf(() => importVllmAscend(doc))).toEqual({
      field: 'layer_list[1]',
      message: 'layer_list[1]: logical expert 3 has no replica (1 experts missing)',
    });
  });

  it('rejects two copies of one expert on one device', () => {
    const doc = twoLayers();
    doc.layer_list[0].device_list[1].device_expert = [3, 0, 3];
    expect(fieldOf(() => importVllmAscend(doc)).field).toBe('layer_list[0].device_list[1].device_expert[2]');
  });

  it('names the exact element that is not an expert id', () => {
    const doc = twoLayers() as unknown as { layer_list: { device_list: { device_expert: unknown[] }[] }[] };
    doc.layer_list[0].device_list[0].device_expert[2] = -1;
    expect(fieldOf(() => importVllmAscend(doc))).toEqual({
      field: 'layer_list[0].device_list[0].device_expert[2]',
      message: 'layer_list[0].device_list[0].device_expert[2]: must be a logical expert id (integer ≥ 0), got -1',
    });
    doc.layer_list[0].device_list[0].device_expert[2] = 1.5;
    expect(fieldOf(() => importVllmAscend(doc)).field).toBe('layer_list[0].device_list[0].device_expert[2]');
  });

  it('rejects ids at or above --experts', () => {
    expect(fieldOf(() => importVllmAscend(twoLayers(), { experts: 3 }))).toEqual({
      field: 'layer_list[0].device_list[1].device_expert[0]',
      message: 'layer_list[0].device_list[1].device_expert[0]: must be a logical expert id in [0, 3), got 3',
    });
  });

  it('checks the header fields vllm-ascend relies on', () => {
    expect(fieldOf(() => importVllmAscend({ ...twoLayers(), moe_layer_count: 3 }))).toEqual({
      field: 'moe_layer_count',
      message: 'moe_layer_count: is 3 but layer_list has 2 layers',
    });
    const reordered = twoLayers();
    reordered.layer_list[1].layer_id = 5;
    expect(fieldOf(() => importVllmAscend(reordered)).field).toBe('layer_list[1].layer_id');
    const swapped = twoLayers();
    swapped.layer_list[0].device_list[0].device_id = 1;
    expect(fieldOf(() => importVllmAscend(swapped))).toEqual({
      field: 'layer_list[0].device_list[0].device_id',
      message: 'layer_list[0].device_list[0].device_id: is 1, but vllm-ascend reads device_list by position: it must be 0',
    });
    const miscounted = twoLayers();
    miscounted.layer_list[0].device_count = 4;
    expect(fieldOf(() => importVllmAscend(miscounted)).field).toBe('layer_list[0].device_count');
    expect(fieldOf(() => importVllmAscend({ moe_layer_count: 1 })).field).toBe('layer_list');
    expect(fieldOf(() => importVllmAscend([1, 2])).field).toBe('input');
  });

  it('rejects --ranks that disagrees with the file', () => {
    expect(fieldOf(() => importVllmAscend(twoLayers(), { ranks: 3 }))).toEqual({
      field: '--ranks',
      message: '--ranks: is 3 but the file has 2 devices per layer',
    });
  });
});

describe('vllm-ascend export', () => {
  it('refuses a map with two copies of an expert on one rank, naming the slot', () => {
    const map = { physicalToLogical: [[0, 1, 2, 2]], numRanks: 2 };
    expect(fieldOf(() => exportVllmAscend(map))).toEqual({
      field: 'physicalToLogical[0][3]',
      message: 'physicalToLogical[0][3]: logical expert 2 has two slots on rank 1; vllm-ascend keeps one copy per device',
    });
  });
});
