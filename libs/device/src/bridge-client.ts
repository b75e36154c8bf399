import { connect, Socket } from 'node:net';
import { encodeFrame, FrameReader } from './wire';

/**
 * One kept-open connection to an engine rank's bridge (python/eplb_bridge) on its local socket.
 * Frames as the wire protocol; the header is {id, op}, the body the request's JSON; answers echo
 * the id, so prepares, commits and describes are in flight together. The connection is opened on
 * first use and again after it dropped; `lost` says the bridge is not answering (its rank is gone).
 */
export class BridgeClient {
  private sock: Socket | null = null;
  private opening: Promise<Socket> | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Set when the connection dropped or could not be opened, cleared once it is open again. */
  lost: string | null = null;
  private closed = false;

  constructor(
    readonly rank: number,
    readonly path: string,
  ) {}

  async request<T>(op: string, body: Record<string, unknown>): Promise<T> {
    const sock = await this.connection();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      sock.write(encodeFrame({ id, op }, Buffer.from(JSON.stringify(body), 'utf8')));
    });
  }

  close(): void {
    this.closed = true;
    this.sock?.destroy();
    this.fail(new Error(`bridge of rank ${this.rank}: connection closed`));
  }

  private connection(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error(`bridge of rank ${this.rank}: client closed`));
    if (this.sock) return Promise.resolve(this.sock);
    if (this.opening) return this.opening;
    this.opening = new Promise<Socket>((resolve, reject) => {
      const sock = connect(this.path);
      const reader = new FrameReader();
      sock.once('connect', () => {
        this.sock = sock;
        this.opening = null;
        this.lost = null;
        resolve(sock);
      });
      sock.on('data', (chunk: Buffer) => {
        try {
          for (const f of reader.push(chunk)) {
            const w = this.waiting.get(Number(f.header.id));
            if (!w) continue;
            this.waiting.delete(Number(f.header.id));
            if (f.header.ok === true) w.resolve(f.body.length > 0 ? JSON.parse(f.body.toString('utf8')) : {});
            else w.reject(new Error(`rank ${this.rank}: ${String(f.header.error)}`));
          }
        } catch (e) {
          sock.destroy(e as Error);
        }
      });
      sock.once('error', (e) => {
        this.lost = `bridge of rank ${this.rank} at ${this.path}: ${e.message}`;
        if (this.opening) {
          this.opening = null;
          reject(new Error(this.lost));
        }
      });
      sock.once('close', () => {
        if (this.sock === sock) this.sock = null;
        if (!this.closed) this.lost ??= `bridge of rank ${this.rank} closed its socket`;
        this.fail(new Error(this.lost ?? `bridge of rank ${this.rank}: connection closed`));
      });
    });
    return this.opening;
  }

  private fail(e: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(e);
  }
}
