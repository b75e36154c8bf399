import { invalid } from '../errors';
import {
  ExpertMap,
  ExportOptions,
  ImportOptions,
  assertExpertMap,
  finishImport,
  idList,
  isPlainObject,
  parseJson,
  show,
} from './common';

/**
 * SGLang's `--init-expert-location` JSON: `{"physical_to_logical_map": [[P ids] per layer]}`.
 *
 * Checked in sgl-project/sglang:
 * - python/sglang/srt/eplb/expert_location.py `compute_initial_expert_location_metadata`: the
 *   value is `trivial`, a `.pt` file, a `.json` file or inline JSON; a dict with
 *   `physical_to_logical_map` goes to `init_by_mapping(server_args, model_config, **data_dict)`
 *   (so ANY other key is an unexpected keyword argument and SGLang fails), a dict with only
 *   `logical_count` goes to `init_by_eplb`, which runs SGLang's own rebalancer at start-up.
 * - same file: the map is a (layers, num_physical_experts) tensor; `num_physical_experts` =
 *   experts + `ep_num_redundant_experts` must divide by `ep_size`; GPU of slot p is
 *   p // num_local_physical_experts (rank-major, like ours). The file does not record ep_size,
 *   hence `--ranks` on import.
 * - same file, `ModelConfigForExpertLocation`, and the models' `get_model_config_for_expert_location`
 *   (e.g. python/sglang/srt/models/deepseek_v2.py, whose MoE blocks get the model `layer_id`):
 *   `num_layers` is the model's `num_hidden_layers`, so rows are indexed by MODEL layer id and
 *   dense layers (DeepSeek's first
 *   `first_k_dense_replace`) have rows too. `firstMoeLayer` N drops the first N rows on import and
 *   writes N filler rows (`init_trivial`'s `p % E`) on export.
 * Not covered: `.pt` files (torch pickles) and models whose MoE layers are not contiguous.
 */

export const SGLANG = 'sglang';

export function importSglang(doc: unknown, opts: ImportOptions = {}): ExpertMap {
  if (!isPlainObject(doc)) throw invalid('input', `must be a JSON object with physical_to_logical_map, got ${show(doc)}`);
  if (!('physical_to_logical_map' in doc)) {
    if ('logical_count' in doc) {
      throw invalid(
        'logical_count',
        'this SGLang file holds expert load statistics, not a map; plan a map from it with `eplb plan`',
      );
    }
    throw invalid('physical_to_logical_map', `is missing (keys found: ${Object.keys(doc).join(', ') || 'none'})`);
  }
  const extra = Object.keys(doc).filter((k) => k !== 'physical_to_logical_map');
  if (extra.length > 0) {
    throw invalid(extra[0], 'unexpected key: SGLang passes every key to init_by_mapping and would fail on it');
  }
  if (opts.ranks === undefined) throw invalid('--ranks', 'is required: SGLang map files do not record the EP size');
  const raw = doc.physical_to_logical_map;
  if (!Array.isArray(raw)) throw invalid('physical_to_logical_map', `must be an array with one row per layer, got ${show(raw)}`);
  const rows = raw.map((row: unknown, l: number) => idList(row, `physical_to_logical_map[${l}]`, opts.experts));
  const first = opts.firstMoeLayer ?? 0;
  if (rows.length > 0 && first >= rows.length) {
    throw invalid('--first-moe-layer', `is ${first} but physical_to_logical_map has only ${rows.length} rows`);
  }
  // Validate every row (SGLang builds all of them), then keep the MoE layers.
  finishImport(rows, opts.ranks, opts, {
    layerField: (l) => `physical_to_logical_map[${l}]`,
    ranksField: '--ranks',
    rowsField: 'physical_to_logical_map',
  });
  return { physicalToLogical: rows.slice(first), numRanks: opts.ranks };
}

/** SGLang's `physical_to_logical_map` document, dense layers before `firstMoeLayer` filled in. */
export function exportSglang(map: ExpertMap, opts: ExportOptions = {}): Record<string, unknown> {
  const { numExperts } = assertExpertMap(map, opts.experts);
  const first = opts.firstMoeLayer ?? 0;
  const numSlots = map.physicalToLogical[0].length;
  const filler = Array.from({ length: numSlots }, (_, p) => p % numExperts);
  const rows = [...Array.from({ length: first }, () => filler), ...map.physicalToLogical];
  return { physical_to_logical_map: rows };
}

export const parseSglang = (text: string, opts: ImportOptions = {}): ExpertMap => importSglang(parseJson(text), opts);
