import { invalid } from '../errors';

/**
 * A deliberately small YAML reader and writer for TensorRT-LLM's `moe_load_balancer.yaml`, so the
 * domain needs no YAML package. Sources of truth for the shapes it must read:
 * - NVIDIA/TensorRT-LLM examples/wide_ep/ep_load_balancer/generate_eplb_config.py (`yaml.dump`
 *   with lists in flow style, `width=inf`: `  3: [138, 81, 60]`, keys sorted by PyYAML);
 * - NVIDIA/TensorRT-LLM examples/wide_ep/ep_load_balancer/README.md (example file);
 * - PyYAML's default block style for hand-made files (`  3:` then `  - 138` lines).
 *
 * Accepted subset: `#` comments, blank lines, an optional leading `---`; a top-level block mapping
 * whose keys are plain words; values that are integers, `null`/`~`, or (after `key:` alone on its
 * line) a nested block mapping with integer keys whose values are flow lists of integers `[0, 1]`
 * or block sequences of integers (`- 0`). Anything else fails with the line number and the reason.
 */

export type YamlScalar = number | null;
export type YamlValue = YamlScalar | number[] | { [key: string]: number[] };
export type YamlDocument = { [key: string]: YamlValue };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

const INT = /^[-+]?\d+$/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;

const err = (no: number, message: string) => invalid(`line ${no}`, message);

function splitLines(source: string): Line[] {
  const out: Line[] = [];
  const raw = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  raw.forEach((full, i) => {
    const no = i + 1;
    const hash = full.search(/(^|\s)#/);
    const body = (hash >= 0 ? full.slice(0, hash) : full).replace(/\s+$/, '');
    if (body.trim() === '') return;
    const lead = /^[ \t]*/.exec(body)![0];
    if (lead.includes('\t')) throw err(no, 'tabs are not allowed for indentation in YAML');
    out.push({ no, indent: lead.length, text: body.slice(lead.length) });
  });
  if (out.length > 0 && out[0].indent === 0 && out[0].text === '---') out.shift();
  const extra = out.find((l) => l.text === '---' || l.text === '...');
  if (extra) throw err(extra.no, 'only one YAML document is supported');
  return out;
}

function parseInt10(text: string, no: number, what: string): number {
  if (!INT.test(text)) throw err(no, `${what} must be an integer, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw err(no, `${what} ${text} is too large`);
  return n;
}

function parseScalar(text: string, no: number, key: string): YamlScalar {
  if (text === 'null' || text === '~') return null;
  return parseInt10(text, no, `the value of ${key}`);
}

/** `[1, 2, 3]` on one line. */
function parseFlowList(text: string, no: number, key: string): number[] {
  if (!text.startsWith('[') || !text.endsWith(']')) {
    throw err(no, `the value of ${key} must be a list of integers like [0, 1, 2] on one line, got ${JSON.stringify(text)}`);
  }
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((item) => parseInt10(item.trim(), no, `each item of ${key}`));
}

/** Parses the restricted YAML subset described above into plain values. */
export function parseYamlSubset(source: string): YamlDocument {
  const lines = splitLines(source);
  const doc: YamlDocument = {};
  let i = 0;
  if (lines.length === 0) throw invalid('input', 'is empty');
  if (lines[0].indent !== 0) throw err(lines[0].no, 'the document must start with a key at column 1');
  while (i < lines.length) {
    const line = lines[i];
    if (line.indent !== 0) throw err(line.no, 'unexpected indentation');
    const m = /^([^:\s][^:]*?):(?:\s+(.*))?$/.exec(line.text);
    if (!m) throw err(line.no, `expected "key: value", got ${JSON.stringify(line.text)}`);
    const key = m[1];
    if (!WORD.test(key)) throw err(line.no, `unsupported key ${JSON.stringify(key)}`);
    if (key in doc) throw err(line.no, `duplicate key ${key}`);
    const rest = m[2]?.trim() ?? '';
    i++;
    if (rest !== '') {
      if (rest.startsWith('{')) throw err(line.no, `flow mappings ({...}) are not supported; write one "layer: [ids]" per line under ${key}:`);
      doc[key] = rest.startsWith('[') ? parseFlowList(rest, line.no, key) : parseScalar(rest, line.no, key);
      continue;
    }
    // `key:` alone: a nested mapping of integer keys follows, more indented; or nothing (null).
    if (i >= lines.length || lines[i].indent === 0) {
      doc[key] = null;
      continue;
    }
    const nested: { [k: string]: number[] } = {};
    const indent = lines[i].indent;
    while (i < lines.length && lines[i].indent > 0) {
      const entry = lines[i];
      if (entry.indent !== indent) throw err(entry.no, `inconsistent indentation (expected ${indent} spaces)`);
      if (entry.text.startsWith('-')) throw err(entry.no, `${key} must be a mapping of layer ids to lists, not a list`);
      const e = /^([^:\s][^:]*?):(?:\s+(.*))?$/.exec(entry.text);
      if (!e) throw err(entry.no, `expected "layer: [ids]", got ${JSON.stringify(entry.text)}`);
      const layerKey = String(parseInt10(e[1], entry.no, `a key of ${key}`));
      if (layerKey in nested) throw err(entry.no, `duplicate key ${layerKey} in ${key}`);
      const where = `${key}[${layerKey}]`;
      const value = e[2]?.trim() ?? '';
      i++;
      if (value !== '') {
        nested[layerKey] = parseFlowList(value, entry.no, where);
        continue;
      }
      // Block sequence: `- n` lines, at the key's indentation (PyYAML's style) or deeper.
      const items: number[] = [];
      let itemIndent = -1;
      while (i < lines.length && lines[i].indent >= indent && lines[i].text.startsWith('-')) {
        const item = lines[i];
        if (itemIndent === -1) itemIndent = item.indent;
        if (item.indent !== itemIndent) throw err(item.no, 'inconsistent indentation in a list');
        const im = /^-(?:\s+(.*))?$/.exec(item.text);
        if (!im) throw err(item.no, `expected "- id", got ${JSON.stringify(item.text)}`);
        items.push(parseInt10((im[1] ?? '').trim(), item.no, `each item of ${where}`));
        i++;
      }
      if (items.length === 0) throw err(entry.no, `${where} has no value (expected a list of expert ids)`);
      nested[layerKey] = items;
    }
    doc[key] = nested;
  }
  return doc;
}

/**
 * Writes a top-level mapping of integers, integer lists (flow style) and mappings of integer keys
 * to integer lists, in insertion order: exactly the subset parseYamlSubset reads.
 */
export function emitYamlSubset(doc: YamlDocument): string {
  const out: string[] = [];
  const flow = (xs: readonly number[]) => `[${xs.join(', ')}]`;
  for (const [key, value] of Object.entries(doc)) {
    if (!WORD.test(key)) throw new TypeError(`cannot write key ${JSON.stringify(key)} in the YAML subset`);
    if (value === null) out.push(`${key}: null`);
    else if (typeof value === 'number') out.push(`${key}: ${value}`);
    else if (Array.isArray(value)) out.push(`${key}: ${flow(value)}`);
    else {
      out.push(`${key}:`);
      for (const [k, xs] of Object.entries(value)) {
        if (!INT.test(k)) throw new TypeError(`cannot write nested key ${JSON.stringify(k)} in the YAML subset`);
        out.push(`  ${k}: ${flow(xs)}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}
