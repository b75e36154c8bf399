import { connect, createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { encodeFrame, FrameReader, Throttle } from './wire';

/**
 * The simulated backends' peer link: one backend fetches the experts it stages from the backend
 * of the node that holds them, over TCP on loopback (where real engines run a collective). The
 * client keeps one pipelined connection per peer; the server answers in request order through
 * the sender's bytes/s throttle.
 */

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (err: Error) => void;
}

/** One pipelined client connection to a peer backend. */
export class PeerConnection {
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = this.reader.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const f of frames) {
        const id = Number(f.header.id);
        const p = this.pending.get(id);
        if (!p) continue;
        this.pending.delete(id);
        if (f.header.ok === true) p.resolve(f.body);
        else p.reject(new Error(String(f.header.error ?? 'peer refused')));
      }
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('peer closed the connection')));
  }

  static open(addr: PeerAddress): Promise<PeerConnection> {
    if (!LOOPBACK.has(addr.host)) return Promise.reject(new Error(`simulated backend connects to loopback only, not ${addr.host}`));
    return new Promise((resolve, reject) => {
      const s = connect({ host: addr.host, port: addr.port });
      s.setNoDelay(true);
      s.once('connect', () => resolve(new PeerConnection(s)));
      s.once('error', reject);
    });
  }

  /**
   * Several experts of one layer in one request: the answer's body is their weights back to back
   * (`expertBytes` each, in request order). One frame each way instead of one per expert.
   */
  fetchMany(layer: number, items: readonly { rank: number; expert: number }[]): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(encodeFrame({ op: 'fetch-many', id, layer, items: items.map((it) => [it.rank, it.expert]) }));
    });
  }

  /** False once the connection failed or closed (the pool opens a new one). */
  get usable(): boolean {
    return this.failed === null && !this.socket.destroyed;
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(e: Error): void {
    if (!this.failed) this.failed = e;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }
}

/** What a backend serves to its peers: the weights its ranks hold now (the map in force). */
export interface PeerWeights {
  readonly numLayers: number;
  /** The bytes `rank` holds for `expert` in `layer`, or why it cannot serve them. */
  weightsOf(layer: number, rank: number, expert: number): Buffer | string;
  /** True when a connection asking for `layer` is to be dropped (an injected fault). */
  dropsLayer(layer: number): boolean;
}

/** Serves fetches of the weights a backend holds to its peers' PeerConnections. */
export class PeerServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly weights: PeerWeights,
    private readonly throttle: Throttle,
    private readonly traffic: { sent: number; fetches: number },
  ) {}

  /** Starts serving on 127.0.0.1 (port 0 = ephemeral); resolves to the port. */
  async listen(port = 0): Promise<number> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }


  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader();
    // answers go out in request order, one at a time, through the throttle
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      // an answer that cannot be sent (e.g. a frame over the limit) drops this connection, not the process
      for (const f of frames) queue = queue.then(() => this.answer(socket, f.header)).catch(() => void socket.destroy());
    });
  }

  private async answer(socket: Socket, h: Record<string, unknown>): Promise<void> {
    if (socket.destroyed) return;
    const id = h.id;
    const refuse = (error: string) => socket.write(encodeFrame({ id, ok: false, error }));
    if (h.op === 'fetch-many') return this.answerMany(socket, h, refuse);
    if (h.op !== 'fetch') return void refuse(`unknown op ${String(h.op)}`);
    const layer = Number(h.layer);
    const rank = Number(h.rank);
    const expert = Number(h.expert);
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.weights.numLayers) return void refuse(`no layer ${String(h.layer)}`);
    if (this.weights.dropsLayer(layer)) {
      socket.destroy();
      return;
    }
    const body = this.weights.weightsOf(layer, rank, expert);
    if (typeof body === 'string') return void refuse(body);
    await this.throttle.take(body.length);
    if (socket.destroyed) return;
    this.traffic.sent += body.length;
    this.traffic.fetches++;
    socket.write(encodeFrame({ id, ok: true }, body));
  }

  private async answerMany(socket: Socket, h: Record<string, unknown>, refuse: (error: string) => void): Promise<void> {
    const layer = Number(h.layer);
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.weights.numLayers) return void refuse(`no layer ${String(h.layer)}`);
    if (!Array.isArray(h.items) || h.items.length === 0) return void refuse('items must be a non-empty list of [rank, expert]');
    if (this.weights.dropsLayer(layer)) {
      socket.destroy();
      return;
    }
    const bodies: Buffer[] = [];
    for (const item of h.items as unknown[]) {
      const [rank, expert] = Array.isArray(item) ? item.map(Number) : [NaN, NaN];
      const w = this.weights.weightsOf(layer, rank, expert);
      if (typeof w === 'string') return void refuse(w);
      bodies.push(w);
    }
    const body = Buffer.concat(bodies);
    await this.throttle.take(body.length);
    if (socket.destroyed) return;
    this.traffic.sent += body.length;
    this.traffic.fetches += bodies.length;
    socket.write(encodeFrame({ id: h.id, ok: true }, body));
  }
}
