import { isDeploymentId } from '@eplb/domain';
import { HEAT_PHASES, HeatEventV1, HeatPhase } from './heat-event.v1';

/**
 * `eplb.heat.v2` (docs/design.md, "Heat event, version 2"): the same report as version 1 in
 * fixed binary rows, on the same topic and key, so that the collector reads a report without
 * parsing text — JSON decoding was a fifth of its CPU on DeepSeek-V3 events. Little-endian:
 *
 *     u8 2 (format; a version 1 event is JSON text and starts otherwise)
 *     u8 phase (0 prefill, 1 decode, 2 mixed)
 *     u8 flags (bit 0: layer versions follow; bit 1: counts are f64, else u32)
 *     u8 n, then n bytes: the deployment id (UTF-8)
 *     u32 rank, u32 steps, u32 mapVersion, u16 L, u16 S, f64 step, f64 ts (ms since the epoch)
 *     [L × u32 layer versions]
 *     L × S counts, layer by layer (u32, or f64 holding integers)
 *
 * The checks are version 1's, and a refused event names the field as version 1 does.
 */
export const HEAT_V2_FORMAT = 2;

export type HeatEventV2 = Omit<HeatEventV1, 'v'> & { v: 2 };

const HEAD = 4;
const FIXED = 4 + 4 + 4 + 2 + 2 + 8 + 8;
const LAYER_VERSIONS = 1;
const F64_COUNTS = 2;

/** Whether raw bytes are a version 2 event (as opposed to version 1 JSON text). */
export const isHeatV2 = (raw: Buffer): boolean => raw.length > 0 && raw[0] === HEAT_V2_FORMAT;

export type HeatV2Verdict = { ok: true; event: HeatEventV2 } | { ok: false; reason: string };

const bad = (reason: string): HeatV2Verdict => ({ ok: false, reason });

/** Decodes and checks a version 2 event; the reason names the first offending field. */
export function decodeHeatEventV2(raw: Buffer): HeatV2Verdict {
  if (raw.length < HEAD) return bad(`(root): ${raw.length} bytes is too short for a version 2 heat event`);
  const phase = HEAT_PHASES[raw[1]] as HeatPhase | undefined;
  if (phase === undefined) return bad(`phase: code ${raw[1]} is not one of 0 prefill, 1 decode, 2 mixed`);
  const flags = raw[2];
  if (flags & ~(LAYER_VERSIONS | F64_COUNTS)) return bad(`(root): unknown flags ${flags}`);
  const n = raw[3];
  if (raw.length < HEAD + n + FIXED) return bad(`(root): ${raw.length} bytes is too short for a version 2 heat event`);
  const deployment = raw.toString('utf8', HEAD, HEAD + n);
  if (!isDeploymentId(deployment)) return bad(`deployment: ${JSON.stringify(deployment)} is not a deployment id`);
  let o = HEAD + n;
  const rank = raw.readUInt32LE(o);
  const steps = raw.readUInt32LE(o + 4);
  const mapVersion = raw.readUInt32LE(o + 8);
  const L = raw.readUInt16LE(o + 12);
  const S = raw.readUInt16LE(o + 14);
  const step = raw.readDoubleLE(o + 16);
  const tsMs = raw.readDoubleLE(o + 24);
  o += FIXED;
  if (steps < 1 || steps > 1_000_000) return bad(`steps: ${steps} is out of range [1, 1000000]`);
  if (mapVersion < 1) return bad('mapVersion: must be a positive integer');
  if (!Number.isSafeInteger(step) || step < 0) return bad(`step: ${step} is not a non-negative integer`);
  if (!Number.isFinite(tsMs) || Math.abs(tsMs) > 8.64e15) return bad(`ts: ${tsMs} is not a time`);
  if (L < 1 || S < 1) return bad(`load: ${L} layers × ${S} slots is empty`);
  const countBytes = flags & F64_COUNTS ? 8 : 4;
  const expected = o + (flags & LAYER_VERSIONS ? 4 * L : 0) + countBytes * L * S;
  if (raw.length !== expected) return bad(`(root): ${raw.length} bytes, expected ${expected} for ${L} layers × ${S} slots`);
  let layerVersions: number[] | null = null;
  if (flags & LAYER_VERSIONS) {
    layerVersions = new Array<number>(L);
    for (let l = 0; l < L; l++, o += 4) {
      const v = raw.readUInt32LE(o);
      if (v < 1) return bad(`layerVersions.${l}: must be a positive integer`);
      layerVersions[l] = v;
    }
  }
  const load = new Array<number[]>(L);
  for (let l = 0; l < L; l++) {
    const row = new Array<number>(S);
    if (countBytes === 4) {
      for (let s = 0; s < S; s++, o += 4) row[s] = raw.readUInt32LE(o);
    } else {
      for (let s = 0; s < S; s++, o += 8) {
        const c = raw.readDoubleLE(o);
        if (!Number.isSafeInteger(c) || c < 0) return bad(`load.${l}.${s}: must be a non-negative integer count`);
        row[s] = c;
      }
    }
    load[l] = row;
  }
  return { ok: true, event: { v: 2, deployment, rank, step, steps, phase, mapVersion, layerVersions, ts: new Date(tsMs).toISOString(), load } };
}

/**
 * Encodes a report as version 2 (the publishers' side). Counts go as u32 when every one fits,
 * else as f64 (exact up to 2^53, as version 1's JSON numbers). The caller has checked the event
 * against the contract (the publishers do, with version 1's schema).
 */
export function encodeHeatEventV2(e: Omit<HeatEventV1, 'v'>): Buffer {
  const id = Buffer.from(e.deployment, 'utf8');
  if (id.length > 255) throw new RangeError(`deployment: ${id.length} bytes is too long for a version 2 heat event`);
  const L = e.load.length;
  const S = L ? e.load[0].length : 0;
  if (L > 0xffff || S > 0xffff) throw new RangeError(`load: ${L} layers × ${S} slots is too large for a version 2 heat event`);
  let wide = false;
  for (const row of e.load) {
    if (row.length !== S) throw new RangeError('load: every layer must have the same number of slots');
    for (const c of row) if (c > 0xffffffff) wide = true;
  }
  const lv = e.layerVersions;
  const countBytes = wide ? 8 : 4;
  const buf = Buffer.allocUnsafe(HEAD + id.length + FIXED + (lv ? 4 * L : 0) + countBytes * L * S);
  buf[0] = HEAT_V2_FORMAT;
  buf[1] = HEAT_PHASES.indexOf(e.phase);
  buf[2] = (lv ? LAYER_VERSIONS : 0) | (wide ? F64_COUNTS : 0);
  buf[3] = id.length;
  id.copy(buf, HEAD);
  let o = HEAD + id.length;
  o = buf.writeUInt32LE(e.rank, o);
  o = buf.writeUInt32LE(e.steps, o);
  o = buf.writeUInt32LE(e.mapVersion, o);
  o = buf.writeUInt16LE(L, o);
  o = buf.writeUInt16LE(S, o);
  o = buf.writeDoubleLE(e.step, o);
  o = buf.writeDoubleLE(Date.parse(e.ts), o);
  if (lv) for (const v of lv) o = buf.writeUInt32LE(v, o);
  for (const row of e.load) for (const c of row) o = wide ? buf.writeDoubleLE(c, o) : buf.writeUInt32LE(c, o);
  return buf;
}
