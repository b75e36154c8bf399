import { invalid } from '../errors';
import {
  ExpertMap,
  ExportOptions,
  ImportOptions,
  assertExpertMap,
  finishImport,
  idList,
  isPlainObject,
  nonNegativeInt,
  positiveInt,
  show,
} from './common';

/**
 * TensorRT-LLM's `moe_load_balancer.yaml` (`moe_config.load_balancer`):
 * `num_slots: P`, `initial_global_assignments: {layer: [logical id per slot]}`,
 * optionally `layer_updates_per_iter` (0 = static).
 *
 * Checked in NVIDIA/TensorRT-LLM:
 * - tensorrt_llm/llmapi/llm_args.py `MoeLoadBalancerConfig(StrictBaseModel)`: exactly the fields
 *   `num_slots`, `initial_global_assignments: Dict[int, List[int]]`, `layer_updates_per_iter: int = 0`
 *   (extra keys are rejected); `setup()` requires `num_slots % ep_size == 0`;
 *   `get_layer_initial_global_assignments(layer_idx)` raises KeyError for a missing layer and
 *   ValueError when a list's length is not `num_slots`.
 * - tensorrt_llm/_torch/modules/fused_moe/ (fused_moe_wide_ep.py, interface.py): the lookup key
 *   is the module's `self.layer_idx`, the MODEL layer id, and it asserts
 *   `set(assignments) == set(range(num_experts))` (our replica rule); slot j is on rank
 *   j // num_local_slots.
 * - examples/wide_ep/ep_load_balancer/generate_eplb_config.py and its README.md: keys are model
 *   layer ids (3..60 for DeepSeek-R1, whose first 3 layers are dense); the file is `yaml.dump`ed
 *   with flow-style lists and contains `layer_updates_per_iter: 0`.
 * - tests/integration/defs/accuracy/test_llm_api_pytorch.py
 *   (`test_fp8_block_scales_4gpus_static_eplb`): keys
 *   `range(first_k_dense_replace, num_hidden_layers)`.
 * So `firstMoeLayer` N maps MoE layer 0 to key N (default 0); keys must be N, N+1, … without gaps.
 * The file records neither ep_size nor E, hence `--ranks` (and optionally `--experts`) on import.
 */

export const TRTLLM = 'trtllm';

const KNOWN_KEYS = new Set(['num_slots', 'initial_global_assignments', 'layer_updates_per_iter']);

/**
 * Imports the parsed document: the file is YAML, and reading its text is the caller's business,
 * so the domain needs no YAML parser. A parsed mapping's layer ids are property names ('3').
 */
export function importTrtllm(doc: unknown, opts: ImportOptions = {}): ExpertMap {
  if (!isPlainObject(doc)) throw invalid('input', `must be a mapping with num_slots and initial_global_assignments, got ${show(doc)}`);
  for (const key of Object.keys(doc)) {
    if (!KNOWN_KEYS.has(key)) {
      const hint = key === 'moe_config' ? ' (give the load balancer file itself, not the LLM API options file)' : '';
      throw invalid(key, `unexpected key: TensorRT-LLM's MoeLoadBalancerConfig has only num_slots, initial_global_assignments and layer_updates_per_iter${hint}`);
    }
  }
  if (doc.layer_updates_per_iter !== undefined) nonNegativeInt(doc.layer_updates_per_iter, 'layer_updates_per_iter');
  const numSlots = positiveInt(doc.num_slots, 'num_slots');
  const assignments = doc.initial_global_assignments;
  if (assignments === undefined || assignments === null) {
    throw invalid('initial_global_assignments', 'is missing: this file has no map (TensorRT-LLM would start from its default placement)');
  }
  if (!isPlainObject(assignments)) throw invalid('initial_global_assignments', `must be a mapping of layer ids to lists, got ${show(assignments)}`);
  if (opts.ranks === undefined) throw invalid('--ranks', 'is required: TensorRT-LLM load balancer files do not record the EP size');

  const first = opts.firstMoeLayer ?? 0;
  const keys = Object.keys(assignments).map((k) => {
    if (!/^\d+$/.test(k)) throw invalid(`initial_global_assignments[${k}]`, 'key must be a layer id (integer ≥ 0)');
    return Number(k);
  });
  keys.sort((a, b) => a - b);
  if (keys.length === 0) throw invalid('initial_global_assignments', 'has no layers');
  if (keys[0] !== first) {
    throw invalid(
      'initial_global_assignments',
      `first layer key is ${keys[0]} but --first-moe-layer is ${first}; keys are model layer ids, pass --first-moe-layer ${keys[0]} if the first ${keys[0]} layers are dense`,
    );
  }
  keys.forEach((k, i) => {
    if (k !== first + i) {
      throw invalid('initial_global_assignments', `layer keys must be consecutive from ${first}: ${first + i} is missing`);
    }
  });
  const rows = keys.map((k) => {
    const field = `initial_global_assignments[${k}]`;
    const row = idList(assignments[String(k)], field, opts.experts);
    if (row.length !== numSlots) throw invalid(field, `has ${row.length} slots, but num_slots is ${numSlots}`);
    return row;
  });
  return finishImport(rows, opts.ranks, opts, {
    layerField: (l) => `initial_global_assignments[${first + l}]`,
    ranksField: '--ranks',
    rowsField: 'initial_global_assignments',
  });
}

/**
 * The load balancer document for a canonical map, keyed by model layer id from `firstMoeLayer`.
 * Written as YAML by the caller, with flow lists as TensorRT-LLM's own generator writes them.
 */
export function exportTrtllm(map: ExpertMap, opts: ExportOptions = {}): Record<string, unknown> {
  assertExpertMap(map, opts.experts);
  const first = opts.firstMoeLayer ?? 0;
  const assignments: { [layer: string]: number[] } = {};
  map.physicalToLogical.forEach((row, l) => {
    assignments[String(first + l)] = row;
  });
  return { num_slots: map.physicalToLogical[0].length, initial_global_assignments: assignments };
}
