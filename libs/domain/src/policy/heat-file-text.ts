import { HeatEpisodes } from '../heat/heat';
import { heatFileToInput } from './heat-file';
import { PolicyInput } from './types';

/**
 * The heat file of `eplb plan` read from its text in one pass, its heat written straight into one
 * Float64Array per episode: a DeepSeek-V3 file holds about a million heats, which JSON.parse would
 * first build as nested arrays (megabytes for the collector to copy) for toHeatEpisodes to copy
 * again. Only the plain form is read here — an object whose `heat` is a rectangular array of
 * non-negative numbers; the other fields go through JSON.parse and every field is checked by
 * heatFileToInput. Anything else (a negative or non-numeric heat, a ragged or empty array, text
 * that is not JSON) gives null: the caller parses the text as JSON and heatFileToInput names what
 * is wrong, so errors read the same either way.
 */
export function heatFileFromText(text: string): Omit<PolicyInput, 'options'> | null {
  // the top-level keys up to "heat" (the fields before it are a few numbers)
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return null;
  i = skipSpace(text, i + 1);
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return null;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0) return null;
    const key = parseOrNull(text.slice(i, keyEnd));
    i = skipSpace(text, keyEnd);
    if (text.charCodeAt(i) !== COLON) return null;
    i = skipSpace(text, i + 1);
    if (key === 'heat') break;
    const end = valueEnd(text, i);
    if (end < 0) return null;
    i = skipSpace(text, end);
    if (text.charCodeAt(i) !== COMMA) return null;
    i = skipSpace(text, i + 1);
  }
  const read = readHeat(text, i);
  if (!read) return null;
  // the rest is a short header and the map in service: JSON.parse reads every field but the heat
  // (a 0 in its place) — unless a later key could be "heat" again (JSON.parse keeps the last one)
  const after = text.slice(read.end);
  if (after.includes('"heat"') || after.includes('\\')) return null;
  const doc = parseOrNull(`${text.slice(0, i)}0${after}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const { heat: _placeholder, ...fields } = doc as Record<string, unknown>;
  return heatFileToInput(fields, read.heat);
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

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** The index after the closing quote of the string opening at `i`, or −1. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return -1;
}

/** The index after the JSON value starting at `i` (its extent only: JSON.parse judges it), or −1. */
function valueEnd(text: string, i: number): number {
  const c0 = text.charCodeAt(i);
  if (c0 === QUOTE) return stringEnd(text, i);
  if (c0 !== OPEN && c0 !== OPEN_BRACE) {
    let j = i;
    for (; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
    }
    return j > i ? j : -1;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) {
      j = stringEnd(text, j) - 1;
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
function readHeat(text: string, i: number): { heat: HeatEpisodes; end: number } | null {
  if (text.charCodeAt(i) !== OPEN) return null;
  i = skipSpace(text, i + 1);
  const heat: Float64Array[][] = [];
  let L = 0, E = 0;
  for (;;) {
    if (text.charCodeAt(i) !== OPEN) return null;
    i = skipSpace(text, i + 1);
    const first = heat.length === 0;
    // episode 0 into one buffer per layer (its number of layers is not known yet); the others
    // straight into their episode's buffer
    const rows: Float64Array[] = [];
    const buf = first ? null : new Float64Array(L * E);
    for (let l = 0; ; l++) {
      if (!first && l >= L) return null;
      const out = buf ?? new Float64Array(l === 0 ? firstRowCapacity(text, i) : E);
      i = readRow(text, i, out, buf ? l * E : 0);
      if (i < 0) return null;
      if (first && l === 0) E = rowLength;
      else if (rowLength !== E) return null;
      if (first) rows.push(l === 0 ? out.subarray(0, E) : out);
      i = skipSpace(text, i);
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i = skipSpace(text, i + 1);
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
    i = skipSpace(text, i + 1);
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (c !== CLOSE) return null;
    return { heat, end: i + 1 };
  }
}

/** Room for the first layer's heats: no more than its text's length can hold (a number and a comma each). */
function firstRowCapacity(text: string, i: number): number {
  const close = text.indexOf(']', i);
  return close < 0 ? 0 : ((close - i) >> 1) + 1;
}

/** Heats in the row readRow read last. */
let rowLength = 0;

/**
 * One layer's row `[h, h, ...]` from `i` into out[at...]: the index after its `]`, or −1 where it
 * is not a row of non-negative numbers that fits. A small function of its own, so that the
 * compiler optimises it once, on the first rows, for all the others.
 */
function readRow(text: string, i: number, out: Float64Array, at: number): number {
  if (text.charCodeAt(i) !== OPEN) return -1;
  i = skipSpace(text, i + 1);
  const cap = out.length - at;
  let e = 0;
  for (;;) {
    // one number: digits alone are summed exactly (up to 15 of them, below 2^53); a fraction, an
    // exponent or more digits go to Number (the same rounding as JSON.parse); a sign, a leading
    // zero before digits or anything else is not the plain form
    const start = i;
    let c = text.charCodeAt(i);
    if (!(c >= ZERO && c <= NINE) || e >= cap) return -1;
    let v = c - ZERO;
    c = text.charCodeAt(++i);
    if (v === 0 && c >= ZERO && c <= NINE) return -1;
    while (c >= ZERO && c <= NINE) {
      v = v * 10 + (c - ZERO);
      c = text.charCodeAt(++i);
    }
    if (c === DOT || c === 0x65 || c === 0x45) {
      i = numberEnd(text, i);
      if (i < 0) return -1;
      v = Number(text.slice(start, i));
      if (!(v < Infinity)) return -1;
      c = text.charCodeAt(i);
    } else if (i - start > 15) v = Number(text.slice(start, i));
    out[at + e++] = v;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i = skipSpace(text, i);
      c = text.charCodeAt(i);
    }
    if (c === COMMA) {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (c !== CLOSE) return -1;
    rowLength = e;
    return i + 1;
  }
}

/** The end of a JSON number's fraction and exponent from `i` (just after its integer digits), or −1. */
function numberEnd(text: string, i: number): number {
  let c = text.charCodeAt(i);
  if (c === DOT) {
    c = text.charCodeAt(++i);
    if (c < ZERO || c > NINE) return -1;
    while (c >= ZERO && c <= NINE) c = text.charCodeAt(++i);
  }
  if (c === 0x65 || c === 0x45) {
    c = text.charCodeAt(++i);
    if (c === PLUS || c === MINUS) c = text.charCodeAt(++i);
    if (c < ZERO || c > NINE) return -1;
    while (c >= ZERO && c <= NINE) c = text.charCodeAt(++i);
  }
  return i;
}
