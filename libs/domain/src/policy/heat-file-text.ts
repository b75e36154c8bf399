import { HeatEpisodes } from '../heat/heat';
import { heatFileToInput } from './heat-file';
import { PolicyInput } from './types';

/**
 * The heat file of `eplb plan` read from its bytes in one pass, its heat written straight into one
 * Float64Array per episode: a DeepSeek-V3 file holds about a million heats, which JSON.parse would
 * first build as nested arrays (megabytes for the collector to copy) for toHeatEpisodes to copy
 * again — and decoding the bytes into a string first is one more copy of the file, megabytes of
 * fresh memory a one-shot process pays for page by page. Only the plain form is read here — an
 * object whose `heat` is a rectangular array of non-negative numbers; the other fields (decoded as
 * UTF-8, a leading byte-order mark skipped) go through JSON.parse and every field is checked by
 * heatFileToInput. Anything else (a negative or non-numeric heat, a ragged or empty array, bytes
 * that are not JSON) gives null: the caller parses the text as JSON and heatFileToInput names what
 * is wrong, so errors read the same either way. JSON's structure and numbers are ASCII, and no byte
 * of a UTF-8 sequence beyond ASCII is below 0x80, so the bytes can be scanned as they are.
 */
export function heatFileFromBytes(bytes: Uint8Array): Omit<PolicyInput, 'options'> | null {
  const from = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  // the top-level keys up to "heat" (the fields before it are a few numbers)
  let i = skipSpace(bytes, from);
  if (bytes[i] !== OPEN_BRACE) return null;
  i = skipSpace(bytes, i + 1);
  for (;;) {
    if (bytes[i] !== QUOTE) return null;
    const keyEnd = stringEnd(bytes, i);
    if (keyEnd < 0) return null;
    const key = parseOrNull(utf8(bytes, i, keyEnd));
    i = skipSpace(bytes, keyEnd);
    if (bytes[i] !== COLON) return null;
    i = skipSpace(bytes, i + 1);
    if (key === 'heat') break;
    const end = valueEnd(bytes, i);
    if (end < 0) return null;
    i = skipSpace(bytes, end);
    if (bytes[i] !== COMMA) return null;
    i = skipSpace(bytes, i + 1);
  }
  const read = readHeat(bytes, i);
  if (!read) return null;
  // the rest is a short header and the map in service: JSON.parse reads every field but the heat
  // (a 0 in its place) — unless a later key could be "heat" again (JSON.parse keeps the last one)
  const after = utf8(bytes, read.end, bytes.length);
  if (after.includes('"heat"') || after.includes('\\')) return null;
  const doc = parseOrNull(`${utf8(bytes, from, i)}0${after}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const { heat: _placeholder, ...fields } = doc as Record<string, unknown>;
  return heatFileToInput(fields, read.heat);
}

/** heatFileFromBytes of a text (its UTF-8 bytes). */
export function heatFileFromText(text: string): Omit<PolicyInput, 'options'> | null {
  return heatFileFromBytes(new TextEncoder().encode(text));
}

const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** bytes[from, to) decoded as UTF-8 (a byte-order mark there is kept, as JSON.parse would meet it). */
function utf8(bytes: Uint8Array, from: number, to: number): string {
  return UTF8.decode(bytes.subarray(from, to));
}

/** bytes[from, to) of ASCII (a number's text) as a string. */
function ascii(bytes: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN = 0x5b, CLOSE = 0x5d, QUOTE = 0x22, COLON = 0x3a, COMMA = 0x2c;
const BACKSLASH = 0x5c, ZERO = 0x30, NINE = 0x39, DOT = 0x2e, PLUS = 0x2b, MINUS = 0x2d;

/** JSON.parse of a piece of the text, undefined where it is not JSON (no exception escapes). */
function parseOrNull(piece: string): unknown {
  try {
    return JSON.parse(piece) as unknown;
  } catch {
    return undefined;
  }
}

function skipSpace(bytes: Uint8Array, i: number): number {
  for (;;) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** The index after the closing quote of the string opening at `i`, or −1. */
function stringEnd(bytes: Uint8Array, i: number): number {
  for (let j = i + 1; j < bytes.length; j++) {
    const c = bytes[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return -1;
}

/** The index after the JSON value starting at `i` (its extent only: JSON.parse judges it), or −1. */
function valueEnd(bytes: Uint8Array, i: number): number {
  const c0 = bytes[i];
  if (c0 === QUOTE) return stringEnd(bytes, i);
  if (c0 !== OPEN && c0 !== OPEN_BRACE) {
    let j = i;
    for (; j < bytes.length; j++) {
      const c = bytes[j];
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
    }
    return j > i ? j : -1;
  }
  let depth = 0;
  for (let j = i; j < bytes.length; j++) {
    const c = bytes[j];
    if (c === QUOTE) {
      j = stringEnd(bytes, j) - 1;
      if (j < 0) return -1;
    } else if (c === OPEN || c === OPEN_BRACE) depth++;
    else if (c === CLOSE || c === CLOSE_BRACE) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}

/**
 * `heat[episode][layer][expert]` from `i`: every episode as L·E numbers in one Float64Array, a view
 * per layer (as toHeatEpisodes lays them out), or null where the array is not plain and rectangular.
 * Episode 0 tells L and E (its layers read into buffers of their own, then joined).
 */
function readHeat(bytes: Uint8Array, i: number): { heat: HeatEpisodes; end: number } | null {
  if (bytes[i] !== OPEN) return null;
  i = skipSpace(bytes, i + 1);
  const heat: Float64Array[][] = [];
  let L = 0, E = 0;
  for (;;) {
    if (bytes[i] !== OPEN) return null;
    i = skipSpace(bytes, i + 1);
    const first = heat.length === 0;
    // episode 0 into one buffer per layer (its number of layers is not known yet); the others
    // straight into their episode's buffer
    const rows: Float64Array[] = [];
    const buf = first ? null : new Float64Array(L * E);
    for (let l = 0; ; l++) {
      if (!first && l >= L) return null;
      const out = buf ?? new Float64Array(l === 0 ? firstRowCapacity(bytes, i) : E);
      i = readRow(bytes, i, out, buf ? l * E : 0);
      if (i < 0) return null;
      if (first && l === 0) E = rowLength;
      else if (rowLength !== E) return null;
      if (first) rows.push(l === 0 ? out.subarray(0, E) : out);
      i = skipSpace(bytes, i);
      const c = bytes[i];
      if (c === COMMA) {
        i = skipSpace(bytes, i + 1);
        continue;
      }
      if (c !== CLOSE) return null;
      if (first) L = l + 1;
      else if (l + 1 !== L) return null;
      break;
    }
    const data = buf ?? new Float64Array(L * E);
    if (first) for (let l = 0; l < L; l++) data.set(rows[l], l * E);
    const layers: Float64Array[] = [];
    for (let l = 0; l < L; l++) layers.push(data.subarray(l * E, (l + 1) * E));
    heat.push(layers);
    i = skipSpace(bytes, i + 1);
    const c = bytes[i];
    if (c === COMMA) {
      i = skipSpace(bytes, i + 1);
      continue;
    }
    if (c !== CLOSE) return null;
    return { heat, end: i + 1 };
  }
}

/** Room for the first layer's heats: no more than its text's length can hold (a number and a comma each). */
function firstRowCapacity(bytes: Uint8Array, i: number): number {
  const close = bytes.indexOf(CLOSE, i);
  return close < 0 ? 0 : ((close - i) >> 1) + 1;
}

/** Heats in the row readRow read last. */
let rowLength = 0;

/**
 * One layer's row `[h, h, ...]` from `i` into out[at...]: the index after its `]`, or −1 where it
 * is not a row of non-negative numbers that fits. A small function of its own, so that the
 * compiler optimises it once, on the first rows, for all the others.
 */
function readRow(bytes: Uint8Array, i: number, out: Float64Array, at: number): number {
  if (bytes[i] !== OPEN) return -1;
  i = skipSpace(bytes, i + 1);
  const cap = out.length - at;
  let e = 0;
  for (;;) {
    // one number: digits alone are summed exactly (up to 15 of them, below 2^53); a fraction, an
    // exponent or more digits go to Number (the same rounding as JSON.parse); a sign, a leading
    // zero before digits or anything else is not the plain form
    const start = i;
    let c = bytes[i];
    if (!(c >= ZERO && c <= NINE) || e >= cap) return -1;
    let v = c - ZERO;
    c = bytes[++i];
    if (v === 0 && c >= ZERO && c <= NINE) return -1;
    while (c >= ZERO && c <= NINE) {
      v = v * 10 + (c - ZERO);
      c = bytes[++i];
    }
    if (c === DOT || c === 0x65 || c === 0x45) {
      i = numberEnd(bytes, i);
      if (i < 0) return -1;
      v = Number(ascii(bytes, start, i));
      if (!(v < Infinity)) return -1;
      c = bytes[i];
    } else if (i - start > 15) v = Number(ascii(bytes, start, i));
    out[at + e++] = v;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i = skipSpace(bytes, i);
      c = bytes[i];
    }
    if (c === COMMA) {
      i = skipSpace(bytes, i + 1);
      continue;
    }
    if (c !== CLOSE) return -1;
    rowLength = e;
    return i + 1;
  }
}

/** The end of a JSON number's fraction and exponent from `i` (just after its integer digits), or −1. */
function numberEnd(bytes: Uint8Array, i: number): number {
  let c = bytes[i];
  if (c === DOT) {
    c = bytes[++i];
    if (c < ZERO || c > NINE) return -1;
    while (c >= ZERO && c <= NINE) c = bytes[++i];
  }
  if (c === 0x65 || c === 0x45) {
    c = bytes[++i];
    if (c === PLUS || c === MINUS) c = bytes[++i];
    if (c < ZERO || c > NINE) return -1;
    while (c >= ZERO && c <= NINE) c = bytes[++i];
  }
  return i;
}
