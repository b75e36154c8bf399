import { endianness } from 'node:os';

/**
 * Load vectors travel as bytea of little-endian floats (see the heat-windows migration): float64
 * for episodes and intervals (exact integer totals up to 2^53), float32 for rollups (analytics
 * over long ranges, where half the bytes matter more than exactness past 2^24 per cell).
 * On little-endian hosts the bytes are copied as they are; elsewhere they are converted.
 */
const LE = endianness() === 'LE';

export function toBytes(a: Float64Array): Buffer {
  if (LE) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.allocUnsafe(a.length * 8);
  for (let i = 0; i < a.length; i++) b.writeDoubleLE(a[i], i * 8);
  return b;
}

export function fromBytes(b: Buffer): Float64Array {
  const out = new Float64Array(b.length / 8);
  if (LE) new Uint8Array(out.buffer).set(b);
  else for (let i = 0; i < out.length; i++) out[i] = b.readDoubleLE(i * 8);
  return out;
}

export function toBytes32(a: ArrayLike<number>): Buffer {
  const f = Float32Array.from(a);
  if (LE) return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  const b = Buffer.allocUnsafe(f.length * 4);
  for (let i = 0; i < f.length; i++) b.writeFloatLE(f[i], i * 4);
  return b;
}

/** Widened to float64 so callers sum without float32 rounding. */
export function fromBytes32(b: Buffer): Float64Array {
  const f = new Float32Array(b.length / 4);
  if (LE) new Uint8Array(f.buffer).set(b);
  else for (let i = 0; i < f.length; i++) f[i] = b.readFloatLE(i * 4);
  return Float64Array.from(f);
}

/** Adds a stored float32 vector into `into` (widened to float64), without a vector of its own per call. */
export function addBytes32(into: Float64Array, b: Buffer): void {
  const n = Math.min(into.length, b.length >> 2);
  for (let i = 0; i < n; i++) into[i] += b.readFloatLE(i * 4);
}
