import { invalid } from '../errors';
import { ExpertMap, ExportOptions, ImportOptions } from './common';
import { EPLB, exportEplbPlan, importEplbPlan } from './eplb-plan';
import { SGLANG, exportSglang, importSglang } from './sglang';
import { TRTLLM, exportTrtllm, importTrtllm } from './trtllm';
import { VLLM_ASCEND, exportVllmAscend, importVllmAscend } from './vllm-ascend';

/**
 * Expert maps in the formats inference engines read and write. Every format converts to and from
 * one canonical form, ExpertMap, through the format's document (the file parsed: plain objects,
 * arrays, numbers); every import checks the replica rule and names the offending field in the
 * format's own terms. Pure: documents in, documents out; a file's text (JSON, or YAML for
 * trtllm) is read and written at the edge (contracts' map files).
 */
export type { ExpertMap, ExportOptions, ImportOptions } from './common';
export { assertExpertMap, formatJson, parseJson } from './common';
export { importEplbPlan, exportEplbPlan, parseEplbPlan } from './eplb-plan';
export { importSglang, exportSglang, parseSglang } from './sglang';
export { importTrtllm, exportTrtllm } from './trtllm';
export { importVllmAscend, exportVllmAscend, parseVllmAscend } from './vllm-ascend';

export const MAP_FORMATS = [VLLM_ASCEND, SGLANG, TRTLLM, EPLB] as const;
export type MapFormat = (typeof MAP_FORMATS)[number];

/** A map file parsed: what a format's import reads and its export writes. */
export type MapDocument = Record<string, unknown>;

interface Codec {
  readonly import: (doc: unknown, opts: ImportOptions) => ExpertMap;
  readonly export: (map: ExpertMap, opts: ExportOptions) => MapDocument;
  /** How the engine's file is written. */
  readonly syntax: 'json' | 'yaml';
  /** File name extension engines expect. */
  readonly extension: string;
}

const codecs: Record<MapFormat, Codec> = {
  'vllm-ascend': { import: importVllmAscend, export: (m) => exportVllmAscend(m), syntax: 'json', extension: '.json' },
  sglang: { import: importSglang, export: exportSglang, syntax: 'json', extension: '.json' },
  trtllm: { import: importTrtllm, export: exportTrtllm, syntax: 'yaml', extension: '.yaml' },
  eplb: { import: importEplbPlan, export: (m) => exportEplbPlan(m), syntax: 'json', extension: '.json' },
};

export const isMapFormat = (name: string): name is MapFormat => (MAP_FORMATS as readonly string[]).includes(name);

/** `name` as a map format; otherwise a DomainError naming `field` (`from`, `to`) and the known formats. */
export function mapFormat(name: string, field: string): MapFormat {
  if (!isMapFormat(name)) throw invalid(field, `unknown map format "${name}" (known: ${MAP_FORMATS.join(', ')})`);
  return name;
}

/** Reads a parsed map file in `format` into the canonical form; throws a DomainError naming the field. */
export const importExpertMap = (format: string, doc: unknown, opts: ImportOptions = {}): ExpertMap =>
  codecs[mapFormat(format, 'from')].import(doc, opts);

/** The canonical map as `format`'s document, ready to be written as JSON or YAML. */
export const exportExpertMap = (format: string, map: ExpertMap, opts: ExportOptions = {}): MapDocument =>
  codecs[mapFormat(format, 'to')].export(map, opts);

export const mapFormatSyntax = (format: MapFormat): 'json' | 'yaml' => codecs[format].syntax;

export const mapFormatExtension = (format: MapFormat): string => codecs[format].extension;
