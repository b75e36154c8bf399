import { ExpertMap, ExportOptions, exportExpertMap, formatJson, ImportOptions, importExpertMap, mapFormat, mapFormatSyntax, parseJson } from '@eplb/domain';
import { readYamlDocument, writeYamlDocument } from './yaml-document';

/**
 * Engine map files as text, for the edges that read and write them (the CLI's `map convert`, the
 * API's map import and export): JSON, or YAML for trtllm, around the domain's format documents.
 */

/** Reads a map file's text in `format` into the canonical form; errors are DomainErrors naming the field. */
export function parseMapFile(format: string, text: string, opts: ImportOptions = {}): ExpertMap {
  const f = mapFormat(format, 'from');
  return importExpertMap(f, mapFormatSyntax(f) === 'yaml' ? readYamlDocument(text) : parseJson(text), opts);
}

/** Writes the canonical map as `format`'s file text, ending in a newline. */
export function formatMapFile(format: string, map: ExpertMap, opts: ExportOptions = {}): string {
  const f = mapFormat(format, 'to');
  const doc = exportExpertMap(f, map, opts);
  return mapFormatSyntax(f) === 'yaml' ? writeYamlDocument(doc) : formatJson(doc);
}

/** Parses `text` as `from` and writes it as `to`, with the same options for both sides. */
export function convertMapFile(from: string, to: string, text: string, opts: ImportOptions & ExportOptions = {}): string {
  mapFormat(to, 'to');
  return formatMapFile(to, parseMapFile(from, text, opts), opts);
}
