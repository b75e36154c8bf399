import { invalid } from '../errors';
import { ExpertMap, ExportOptions, ImportOptions } from './common';
import { EPLB, exportEplbPlan, parseEplbPlan } from './eplb-plan';
import { SGLANG, exportSglang, parseSglang } from './sglang';
import { TRTLLM, exportTrtllm, parseTrtllm } from './trtllm';
import { VLLM_ASCEND, exportVllmAscend, parseVllmAscend } from './vllm-ascend';

/**
 * Expert maps in the formats inference engines read and write (docs/design.md, "Expert maps other
 * engines read and write"). Every format converts to and from one canonical form, ExpertMap;
 * every import checks the replica rule and names the offending field in the format's own terms.
 * Pure: text in, text out; reading and writing files is the caller's business.
 */
export type { ExpertMap, ExportOptions, ImportOptions } from './common';
export { assertExpertMap, formatJson } from './common';
export { importEplbPlan, exportEplbPlan, parseEplbPlan } from './eplb-plan';
export { importSglang, exportSglang, parseSglang } from './sglang';
export { importTrtllm, exportTrtllm, parseTrtllm } from './trtllm';
export { importVllmAscend, exportVllmAscend, parseVllmAscend } from './vllm-ascend';
export { parseYamlSubset, emitYamlSubset } from './yaml';

export const MAP_FORMATS = [VLLM_ASCEND, SGLANG, TRTLLM, EPLB] as const;
export type MapFormat = (typeof MAP_FORMATS)[number];

interface Codec {
  readonly parse: (text: string, opts: ImportOptions) => ExpertMap;
  readonly serialize: (map: ExpertMap, opts: ExportOptions) => string;
  /** File name extension engines expect. */
  readonly extension: string;
}

const codecs: Record<MapFormat, Codec> = {
  'vllm-ascend': { parse: parseVllmAscend, serialize: (m) => exportVllmAscend(m), extension: '.json' },
  sglang: { parse: parseSglang, serialize: exportSglang, extension: '.json' },
  trtllm: { parse: parseTrtllm, serialize: exportTrtllm, extension: '.yaml' },
  eplb: { parse: parseEplbPlan, serialize: (m) => exportEplbPlan(m), extension: '.json' },
};

export const isMapFormat = (name: string): name is MapFormat => (MAP_FORMATS as readonly string[]).includes(name);

function codec(format: string, field: string): Codec {
  if (!isMapFormat(format)) throw invalid(field, `unknown map format "${format}" (known: ${MAP_FORMATS.join(', ')})`);
  return codecs[format];
}

/** Reads a map file's text in `format` into the canonical form; throws a DomainError naming the field. */
export const parseExpertMap = (format: string, text: string, opts: ImportOptions = {}): ExpertMap =>
  codec(format, 'from').parse(text, opts);

/** Writes the canonical map as `format` text (JSON, or YAML for trtllm), ending in a newline. */
export const serializeExpertMap = (format: string, map: ExpertMap, opts: ExportOptions = {}): string =>
  codec(format, 'to').serialize(map, opts);

export const mapFormatExtension = (format: MapFormat): string => codecs[format].extension;

/** Parses `text` as `from` and writes it as `to`, with the same options for both sides. */
export function convertExpertMap(
  from: string,
  to: string,
  text: string,
  opts: ImportOptions & ExportOptions = {},
): string {
  const target = codec(to, 'to');
  const map = codec(from, 'from').parse(text, opts);
  return target.serialize(map, opts);
}
