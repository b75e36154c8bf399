import { DomainError, invalid } from '../errors';
import { assertPhysicalToLogical } from '../expert-map/physical-to-logical';

/**
 * Shared pieces of the engine map formats: the canonical form every format converts to and from,
 * the options the formats need, validation that names the offending field, and a JSON writer that
 * keeps big maps readable (one layer or one device per line).
 */

/** Canonical map: L rows of P logical ids; slot p is on rank ⌊p / (P / numRanks)⌋. */
export interface ExpertMap {
  readonly physicalToLogical: number[][];
  readonly numRanks: number;
}

export interface ImportOptions {
  /** EP size R; needed by formats that do not record it (sglang, trtllm, eplb without num_ranks). */
  readonly ranks?: number;
  /** Logical experts per layer E; inferred as max id + 1 when absent. */
  readonly experts?: number;
  /** Model layer id of MoE layer 0, for formats keyed by model layer (trtllm, sglang). */
  readonly firstMoeLayer?: number;
}

export interface ExportOptions {
  /** Model layer id of MoE layer 0, for formats keyed by model layer (trtllm, sglang). */
  readonly firstMoeLayer?: number;
  /** E, used where a format needs filler rows (sglang dense layers); inferred when absent. */
  readonly experts?: number;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isNonNegativeInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** `v` must be a positive integer; the error names `field`. */
export function positiveInt(v: unknown, field: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw invalid(field, `must be a positive integer, got ${show(v)}`);
  return v as number;
}

/** `v` must be a non-negative integer; the error names `field`. */
export function nonNegativeInt(v: unknown, field: string): number {
  if (!isNonNegativeInt(v)) throw invalid(field, `must be a non-negative integer, got ${show(v)}`);
  return v;
}

/**
 * `v` must be an array of logical expert ids (non-negative integers, below `numExperts` when
 * known). Errors name the exact element, e.g. `layer_list[2].device_list[1].device_expert[3]`.
 */
export function idList(v: unknown, field: string, numExperts?: number): number[] {
  if (!Array.isArray(v)) throw invalid(field, `must be an array of logical expert ids, got ${show(v)}`);
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    if (!isNonNegativeInt(e)) throw invalid(`${field}[${i}]`, `must be a logical expert id (integer ≥ 0), got ${show(e)}`);
    if (numExperts !== undefined && e >= numExperts) {
      throw invalid(`${field}[${i}]`, `must be a logical expert id in [0, ${numExperts}), got ${e}`);
    }
  }
  return v as number[];
}

/** E from the option or from the ids (max + 1). Ids must already be checked integers. */
export function inferExperts(rows: readonly (readonly number[])[], experts?: number): number {
  if (experts !== undefined) return experts;
  let max = -1;
  for (const row of rows) for (const e of row) if (e > max) max = e;
  return max + 1;
}

/**
 * Final step of every import: L ≥ 1, every row has the same P slots, R divides P, and the replica
 * rule holds (each of the E logical experts at least once per layer). `field` is the format's
 * name for the rows (e.g. `physical_to_logical_map`), `layerField` maps a row index to the
 * format's name for that row, and `ranksField` names where R came from.
 */
export function finishImport(
  rows: number[][],
  numRanks: number,
  opts: ImportOptions,
  names: { layerField: (l: number) => string; ranksField: string; rowsField: string },
): ExpertMap {
  if (rows.length === 0) throw invalid(names.rowsField, 'has no layers');
  const numSlots = rows[0].length;
  if (numSlots === 0) throw invalid(names.layerField(0), 'has no slots');
  const numExperts = inferExperts(rows, opts.experts);
  for (let l = 0; l < rows.length; l++) {
    if (rows[l].length !== numSlots) {
      throw invalid(names.layerField(l), `has ${rows[l].length} slots, but ${names.layerField(0)} has ${numSlots}`);
    }
  }
  if (numSlots % numRanks !== 0) {
    throw invalid(names.ranksField, `${numRanks} ranks do not divide the ${numSlots} slots of a layer`);
  }
  // The replica rule; rewrite the row names of assertPhysicalToLogical into the format's own.
  try {
    assertPhysicalToLogical(rows, rows.length, numExperts, numSlots, '#');
  } catch (err) {
    throw renameField(err, names.layerField);
  }
  return { physicalToLogical: rows, numRanks };
}

function renameField(err: unknown, layerField: (l: number) => string): unknown {
  if (!(err instanceof DomainError) || err.field === undefined) return err;
  const m = /^#\[(\d+)\](.*)$/.exec(err.field);
  if (!m) return err;
  const message = err.message.slice(err.field.length + 2);
  return invalid(`${layerField(Number(m[1]))}${m[2]}`, message);
}

/** Checks a canonical map handed to an exporter (it may not come from an import). */
export function assertExpertMap(map: ExpertMap, experts?: number): { numExperts: number; slotsPerRank: number } {
  const rows = map.physicalToLogical;
  if (!Array.isArray(rows)) throw invalid('physicalToLogical', 'must be an array with one row per layer');
  rows.forEach((row, l) => idList(row, `physicalToLogical[${l}]`, experts));
  const numRanks = positiveInt(map.numRanks, 'numRanks');
  const checked = finishImport(rows, numRanks, { experts }, {
    layerField: (l) => `physicalToLogical[${l}]`,
    ranksField: 'numRanks',
    rowsField: 'physicalToLogical',
  });
  return { numExperts: inferExperts(checked.physicalToLogical, experts), slotsPerRank: rows[0].length / numRanks };
}

/** Parses JSON text; a syntax error becomes a DomainError naming `input`. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw invalid('input', `is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * JSON that stays readable for big maps: arrays of scalars and objects whose values are all
 * scalars or scalar arrays go on one line; everything else is indented by two spaces.
 */
export function formatJson(value: unknown): string {
  return `${fmt(value, '')}\n`;
}

const isScalar = (v: unknown): boolean => v === null || ['number', 'string', 'boolean'].includes(typeof v);
const isInline = (v: unknown): boolean =>
  isScalar(v) || (Array.isArray(v) && v.every(isScalar));
const isInlineObject = (v: unknown): boolean => isPlainObject(v) && Object.values(v).every(isInline);

function fmt(v: unknown, indent: string): string {
  if (isScalar(v)) return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.every(isScalar)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    if (v.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${v.map((x) => inner + fmt(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (isPlainObject(v)) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    if (isInlineObject(v)) return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${fmt(x, indent)}`).join(', ')}}`;
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${fmt(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  throw new TypeError(`cannot write ${typeof v} as JSON`);
}

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
