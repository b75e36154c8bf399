/**
 * The simulated peer link's frames, binary (a fetch and its answer are the link's hottest
 * messages: a few per peer per layer, so no JSON to write or parse):
 *   [u32 BE length of what follows][u8 kind][u32 BE id][rest]
 *   fetch     kind 1, rest = [u32 BE layer][u32 BE count][count × (u32 BE rank, u32 BE expert)]
 *   weights   kind 2, rest = the items' weights back to back, in request order
 *   refused   kind 3, rest = why, UTF-8
 * Requests carry an id and answers echo it, so requests can be pipelined on one connection.
 */
import { ChunkQueue } from './chunk-queue';
import { MAX_BODY } from './wire';

export const FETCH = 1;
export const WEIGHTS = 2;
export const REFUSED = 3;

/** What follows the length prefix at most: kind and id, then a body of at most MAX_BODY. */
const MAX_FRAME = 5 + MAX_BODY;

export interface FetchItem {
  readonly rank: number;
  readonly expert: number;
}

export type PeerFrame =
  | { readonly kind: typeof FETCH; readonly id: number; readonly layer: number; readonly items: FetchItem[] }
  | { readonly kind: typeof WEIGHTS; readonly id: number; readonly body: Buffer }
  | { readonly kind: typeof REFUSED; readonly id: number; readonly error: string };

const u32 = (n: number, what: string): number => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`${what} ${n} does not fit a frame's u32`);
  return n;
};

function prefix(kind: number, id: number, rest: number): Buffer {
  if (rest > MAX_BODY) throw new Error(`frame body of ${rest} bytes exceeds ${MAX_BODY}`);
  const b = Buffer.allocUnsafe(9 + rest);
  b.writeUInt32BE(5 + rest, 0);
  b.writeUInt8(kind, 4);
  b.writeUInt32BE(u32(id, 'id'), 5);
  return b;
}

export function encodeFetch(id: number, layer: number, items: readonly FetchItem[]): Buffer {
  const b = prefix(FETCH, id, 8 + 8 * items.length);
  b.writeUInt32BE(u32(layer, 'layer'), 9);
  b.writeUInt32BE(items.length, 13);
  items.forEach((it, k) => {
    b.writeUInt32BE(u32(it.rank, 'rank'), 17 + 8 * k);
    b.writeUInt32BE(u32(it.expert, 'expert'), 21 + 8 * k);
  });
  return b;
}

/** An answer carrying `bodies` back to back (copied once, into the frame). */
export function encodeWeights(id: number, bodies: readonly Uint8Array[]): Buffer {
  const size = bodies.reduce((s, x) => s + x.length, 0);
  const b = prefix(WEIGHTS, id, size);
  let at = 9;
  for (const x of bodies) {
    b.set(x, at);
    at += x.length;
  }
  return b;
}

export function encodeRefused(id: number, error: string): Buffer {
  const text = Buffer.from(error, 'utf8');
  const b = prefix(REFUSED, id, text.length);
  text.copy(b, 9);
  return b;
}

/** Reassembles peer frames from arbitrary chunks; throws on a malformed stream. */
export class PeerFrameReader {
  private readonly pending = new ChunkQueue();

  push(chunk: Buffer): PeerFrame[] {
    this.pending.push(chunk);
    const out: PeerFrame[] = [];
    while (this.pending.size >= 4) {
      const n = this.pending.peek(4).readUInt32BE(0);
      if (n < 5 || n > MAX_FRAME) throw new Error(`malformed peer frame: ${n} bytes`);
      if (this.pending.size < 4 + n) break;
      out.push(decode(this.pending.take(4 + n).subarray(4)));
    }
    return out;
  }
}

function decode(f: Buffer): PeerFrame {
  const kind = f.readUInt8(0);
  const id = f.readUInt32BE(1);
  if (kind === FETCH) {
    if (f.length < 13) throw new Error('malformed peer frame: fetch without layer and count');
    const layer = f.readUInt32BE(5);
    const count = f.readUInt32BE(9);
    if (f.length !== 13 + 8 * count) throw new Error(`malformed peer frame: fetch of ${count} items in ${f.length} bytes`);
    const items: FetchItem[] = new Array<FetchItem>(count);
    for (let k = 0; k < count; k++) items[k] = { rank: f.readUInt32BE(13 + 8 * k), expert: f.readUInt32BE(17 + 8 * k) };
    return { kind, id, layer, items };
  }
  // the body is copied out of the read chunk, so the staged slots do not keep whole socket reads alive
  if (kind === WEIGHTS) return { kind, id, body: Buffer.from(f.subarray(5)) };
  if (kind === REFUSED) return { kind, id, error: f.subarray(5).toString('utf8') };
  throw new Error(`malformed peer frame: kind ${kind}`);
}
