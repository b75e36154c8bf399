/**
 * The bytes of a stream not yet read as frames, kept as the chunks they arrived in: both frame
 * readers (the torch bridge's JSON-header frames, the simulated peer link's binary ones) peek at a
 * fixed-size prefix and take whole frames off the front, joining chunks only when a read spans them.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private bytes = 0;

  get size(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The first `n` bytes (n ≤ size), without taking them. */
  peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  /** Takes the first `n` bytes (n ≤ size): a view of the chunk they are in, or of the chunks joined. */
  take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bytes = rest.length;
    return all.subarray(0, n);
  }
}
