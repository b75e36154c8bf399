/**
 * The agent's link to the torch bridge: length-prefixed frames on a TCP stream,
 *   [u32 BE header length][u32 BE body length][header: UTF-8 JSON][body: raw bytes].
 * Requests carry an id; responses echo it, so requests can be pipelined on one connection.
 */
import { ChunkQueue } from './chunk-queue';

export const MAX_HEADER = 64 * 1024;
export const MAX_BODY = 256 * 1024 * 1024;

export interface Frame {
  readonly header: Record<string, unknown>;
  readonly body: Buffer;
}

export function encodeFrame(header: Record<string, unknown>, body: Uint8Array = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  if (h.length > MAX_HEADER) throw new Error(`frame header of ${h.length} bytes exceeds ${MAX_HEADER}`);
  if (body.length > MAX_BODY) throw new Error(`frame body of ${body.length} bytes exceeds ${MAX_BODY}`);
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(h.length, 0);
  prefix.writeUInt32BE(body.length, 4);
  return Buffer.concat([prefix, h, body]);
}

/** Reassembles frames from arbitrary chunks; throws on a malformed stream. */
export class FrameReader {
  private readonly pending = new ChunkQueue();

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    const out: Frame[] = [];
    for (;;) {
      if (this.pending.size < 8) break;
      const head = this.pending.peek(8);
      const hl = head.readUInt32BE(0);
      const bl = head.readUInt32BE(4);
      if (hl > MAX_HEADER || bl > MAX_BODY) throw new Error(`malformed frame: header ${hl} bytes, body ${bl} bytes`);
      if (this.pending.size < 8 + hl + bl) break;
      const all = this.pending.take(8 + hl + bl);
      let header: unknown;
      try {
        header = JSON.parse(all.subarray(8, 8 + hl).toString('utf8'));
      } catch {
        throw new Error('malformed frame: header is not JSON');
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('malformed frame: header is not an object');
      out.push({ header: header as Record<string, unknown>, body: Buffer.from(all.subarray(8 + hl)) });
    }
    return out;
  }
}

/** A byte-rate cap shared by everything one backend sends. */
export class Throttle {
  private free = 0;
  constructor(public bytesPerSecond: number | undefined) {}

  /** Resolves when `bytes` may be considered sent at the cap. */
  async take(bytes: number): Promise<void> {
    const wait = this.reserve(bytes);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /**
   * Books `bytes` at the cap now and says in how many ms they may be considered sent (0: at once,
   * also below a millisecond), for senders that schedule the write themselves instead of awaiting.
   */
  reserve(bytes: number): number {
    const bps = this.bytesPerSecond;
    if (!bps || bps <= 0) return 0;
    const now = Date.now();
    const start = Math.max(now, this.free);
    this.free = start + (bytes * 1000) / bps;
    const wait = this.free - now;
    return wait >= 1 ? wait : 0;
  }
}
