import { invalid } from '../errors';
import {
  ExpertMap,
  ImportOptions,
  assertExpertMap,
  finishImport,
  idList,
  isPlainObject,
  parseJson,
  positiveInt,
  show,
} from './common';

/**
 * Our own plan file (`eplb plan --output`): `{"physical_to_logical": [[P ids] per MoE layer]}`,
 * optionally `num_ranks`, plus any report fields the planner adds (ignored here).
 *
 * Source of truth: docs/design.md, "Offline policy files" (plan file shape) and "Deployment and
 * shape" (slot p lives on rank ⌊p / S⌋). Rows are MoE layers, from 0.
 * R comes from `num_ranks`, else from `--ranks`; when both are given they must agree.
 */

export const EPLB = 'eplb';

export function importEplbPlan(doc: unknown, opts: ImportOptions = {}): ExpertMap {
  if (!isPlainObject(doc)) throw invalid('input', `must be a JSON object with physical_to_logical, got ${show(doc)}`);
  if (!('physical_to_logical' in doc)) {
    const hint = 'heat' in doc ? ' (this looks like a heat file; plan a map from it with `eplb plan`)' : '';
    throw invalid('physical_to_logical', `is missing${hint}`);
  }
  let numRanks: number;
  let ranksField: string;
  if (doc.num_ranks !== undefined) {
    numRanks = positiveInt(doc.num_ranks, 'num_ranks');
    ranksField = 'num_ranks';
    if (opts.ranks !== undefined && opts.ranks !== numRanks) {
      throw invalid('--ranks', `is ${opts.ranks} but the file says num_ranks ${numRanks}`);
    }
  } else if (opts.ranks !== undefined) {
    numRanks = opts.ranks;
    ranksField = '--ranks';
  } else {
    throw invalid('--ranks', 'is required: the plan file has no num_ranks');
  }
  const raw = doc.physical_to_logical;
  if (!Array.isArray(raw)) throw invalid('physical_to_logical', `must be an array with one row per layer, got ${show(raw)}`);
  const rows = raw.map((row: unknown, l: number) => idList(row, `physical_to_logical[${l}]`, opts.experts));
  return finishImport(rows, numRanks, opts, {
    layerField: (l) => `physical_to_logical[${l}]`,
    ranksField,
    rowsField: 'physical_to_logical',
  });
}

/** Our plan file document (`num_ranks`, `physical_to_logical`) for a canonical map. */
export function exportEplbPlan(map: ExpertMap): Record<string, unknown> {
  assertExpertMap(map);
  return { num_ranks: map.numRanks, physical_to_logical: map.physicalToLogical };
}

export const parseEplbPlan = (text: string, opts: ImportOptions = {}): ExpertMap =>
  importEplbPlan(parseJson(text), opts);
