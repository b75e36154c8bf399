import { invalid } from '../errors';
import {
  ExpertMap,
  ImportOptions,
  assertExpertMap,
  finishImport,
  idList,
  isPlainObject,
  nonNegativeInt,
  parseJson,
  positiveInt,
  show,
} from './common';

/**
 * vllm-ascend's expert map file (`eplb_config.expert_map_path`, written by
 * `expert_map_record_path`):
 * `{"moe_layer_count": L, "layer_list": [{"layer_id": l, "device_count": R,
 *   "device_list": [{"device_id": r, "device_expert": [logical ids of rank r's slots]}]}]}`.
 *
 * Checked in vllm-project/vllm-ascend (snapshot of 2026-08-22, 182b75e):
 * - vllm_ascend/eplb/core/eplb_utils.py `expert_file_to_tensor`: reads `layer_list[layer_id]` BY
 *   POSITION (the `layer_id` and `device_id` fields are not read), devices in list order;
 *   `torch.tensor(device_data)` needs every `device_expert` of a layer to have the same length;
 *   `layer_id == moe_layer_count` is the MTP/eagle layer (no map, slot count of layer 0);
 *   `layer_id > moe_layer_count` raises "Invalid EPLB Table". Extra keys are ignored.
 * - same file, `init_eplb_config`: `expert_map[local_placement] = arange(S)` per device, so two
 *   copies of one expert on one device leave a slot unreachable (rejected here, both ways).
 * - vllm_ascend/ops/fused_moe/routed_experts.py: the layer index passed in is the MoE-layer counter
 *   (0, 1, … over MoE layers only), so layer_list is indexed by MoE layer, not model layer.
 * - vllm_ascend/eplb/adaptor/vllm_adaptor.py `_export_tensor_to_file`: the record file has
 *   `layer_id` = list index from 0, `device_count` = number of devices, `device_id` = index,
 *   every device with the same number of slots; `json.dump(indent=4)`.
 * - examples/eplb/eplb_strategy.py `save_matrix_to_json`: same shape.
 * - tests/ut/eplb/core/a2/expert_map.json: the example (1 layer, 2 devices × 5 slots, E = 8).
 * - vllm_ascend/ascend_config.py: `expert_map_path` must end in `.json`.
 * Known variant not covered: with `mix_placement`, device lists also carry shared-expert ids
 * (n_routed + i); they read as extra logical experts here.
 */

export const VLLM_ASCEND = 'vllm-ascend';

export function importVllmAscend(doc: unknown, opts: ImportOptions = {}): ExpertMap {
  if (!isPlainObject(doc)) throw invalid('input', `must be a JSON object with moe_layer_count and layer_list, got ${show(doc)}`);
  const layerList = doc.layer_list;
  if (!Array.isArray(layerList)) throw invalid('layer_list', `must be an array of layers, got ${show(layerList)}`);
  const count = positiveInt(doc.moe_layer_count, 'moe_layer_count');
  if (count !== layerList.length) {
    throw invalid('moe_layer_count', `is ${count} but layer_list has ${layerList.length} layers`);
  }
  let numRanks: number | undefined;
  let slotsPerRank: number | undefined;
  const rows: number[][] = [];
  layerList.forEach((layer: unknown, l: number) => {
    const lf = `layer_list[${l}]`;
    if (!isPlainObject(layer)) throw invalid(lf, `must be an object, got ${show(layer)}`);
    const layerId = nonNegativeInt(layer.layer_id, `${lf}.layer_id`);
    if (layerId !== l) {
      throw invalid(`${lf}.layer_id`, `is ${layerId}, but vllm-ascend reads layer_list by position: it must be ${l}`);
    }
    const devices = layer.device_list;
    if (!Array.isArray(devices) || devices.length === 0) {
      throw invalid(`${lf}.device_list`, `must be a non-empty array of devices, got ${show(devices)}`);
    }
    const deviceCount = positiveInt(layer.device_count, `${lf}.device_count`);
    if (deviceCount !== devices.length) {
      throw invalid(`${lf}.device_count`, `is ${deviceCount} but device_list has ${devices.length} devices`);
    }
    if (numRanks === undefined) numRanks = deviceCount;
    else if (deviceCount !== numRanks) {
      throw invalid(`${lf}.device_count`, `is ${deviceCount}, but layer_list[0] has ${numRanks} devices`);
    }
    const row: number[] = [];
    devices.forEach((device: unknown, r: number) => {
      const df = `${lf}.device_list[${r}]`;
      if (!isPlainObject(device)) throw invalid(df, `must be an object, got ${show(device)}`);
      const deviceId = nonNegativeInt(device.device_id, `${df}.device_id`);
      if (deviceId !== r) {
        throw invalid(`${df}.device_id`, `is ${deviceId}, but vllm-ascend reads device_list by position: it must be ${r}`);
      }
      const ids = idList(device.device_expert, `${df}.device_expert`, opts.experts);
      if (slotsPerRank === undefined) slotsPerRank = ids.length;
      else if (ids.length !== slotsPerRank) {
        throw invalid(
          `${df}.device_expert`,
          `has ${ids.length} slots, but layer_list[0].device_list[0] has ${slotsPerRank}: every device needs the same number of slots`,
        );
      }
      const dup = firstDuplicate(ids);
      if (dup !== undefined) {
        throw invalid(
          `${df}.device_expert[${dup.index}]`,
          `logical expert ${dup.id} is already on this device (vllm-ascend keeps one copy per device)`,
        );
      }
      row.push(...ids);
    });
    rows.push(row);
  });
  if (opts.ranks !== undefined && numRanks !== undefined && opts.ranks !== numRanks) {
    throw invalid('--ranks', `is ${opts.ranks} but the file has ${numRanks} devices per layer`);
  }
  return finishImport(rows, numRanks ?? 1, opts, {
    layerField: (l) => `layer_list[${l}]`,
    ranksField: 'device_count',
    rowsField: 'layer_list',
  });
}

/** vllm-ascend's expert map document (`moe_layer_count`, `layer_list`) for a canonical map. */
export function exportVllmAscend(map: ExpertMap): Record<string, unknown> {
  const { slotsPerRank } = assertExpertMap(map);
  const layerList = map.physicalToLogical.map((row, l) => {
    const deviceList = [];
    for (let r = 0; r < map.numRanks; r++) {
      const ids = row.slice(r * slotsPerRank, (r + 1) * slotsPerRank);
      const dup = firstDuplicate(ids);
      if (dup !== undefined) {
        throw invalid(
          `physicalToLogical[${l}][${r * slotsPerRank + dup.index}]`,
          `logical expert ${dup.id} has two slots on rank ${r}; vllm-ascend keeps one copy per device`,
        );
      }
      deviceList.push({ device_id: r, device_expert: ids });
    }
    return { layer_id: l, device_count: map.numRanks, device_list: deviceList };
  });
  return { moe_layer_count: layerList.length, layer_list: layerList };
}

export const parseVllmAscend = (text: string, opts: ImportOptions = {}): ExpertMap =>
  importVllmAscend(parseJson(text), opts);

function firstDuplicate(ids: readonly number[]): { index: number; id: number } | undefined {
  const seen = new Set<number>();
  for (let i = 0; i < ids.length; i++) {
    if (seen.has(ids[i])) return { index: i, id: ids[i] };
    seen.add(ids[i]);
  }
  return undefined;
}
