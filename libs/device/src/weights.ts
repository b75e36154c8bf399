import * as crypto from 'node:crypto';

/**
 * Deterministic stand-in weights: the bytes of logical expert `expert` of `layer`, the same on
 * every rank and process (xorshift32 seeded by layer and expert), so any holder can be checked.
 */
export function expertWeights(layer: number, expert: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let s = (Math.imul(layer + 1, 0x9e3779b1) ^ Math.imul(expert + 1, 0x85ebca77)) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= bytes; i += 4) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.writeUInt32LE(s, i);
  }
  for (; i < bytes; i++) out[i] = (s >>> (8 * (i & 3))) & 0xff;
  return out;
}

/**
 * Node's one-shot digest (20.12 and later; the engines allow 20.11): a commit ack hashes every
 * slot of its layer, and for small buffers building a Hash object per slot cost several times
 * the hashing.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;

/** sha256 of the bytes, hex. */
export const checksum = (buf: Uint8Array): string => (oneShot ? oneShot('sha256', buf, 'hex') : crypto.createHash('sha256').update(buf).digest('hex'));

/** The checksum every replica of (layer, expert) must have: a manifest row per layer. */
export const expectedChecksum = (layer: number, expert: number, bytes: number): string => checksum(expertWeights(layer, expert, bytes));

export const weightManifest = (layers: number, experts: number, bytes: number): string[][] =>
  Array.from({ length: layers }, (_, l) => Array.from({ length: experts }, (_, e) => expectedChecksum(l, e, bytes)));
