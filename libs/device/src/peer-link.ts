import { connect, createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { encodeFetch, encodeRefused, encodeWeights, FETCH, FetchItem, PeerFrame, PeerFrameReader, REFUSED } from './peer-frames';
import { AnswerQueue } from './answer-queue';
import { Throttle } from './wire';

/**
 * The simulated backends' peer link: one backend fetches the experts it stages from the backend
 * of the node that holds them, over TCP on loopback (where real engines run a collective). The
 * client keeps one pipelined connection per peer and asks for all it needs of a layer in one
 * fetch; the server answers each fetch with one frame, in request order, through the sender's
 * bytes/s throttle, and writes every answer that is due after one read in one write.
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
  private readonly reader = new PeerFrameReader();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      let frames: PeerFrame[];
      try {
        frames = this.reader.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const p = this.pending.get(f.id);
        if (!p) continue;
        this.pending.delete(f.id);
        if (f.kind === FETCH) p.reject(new Error('peer sent a fetch as an answer'));
        else if (f.kind === REFUSED) p.reject(new Error(f.error || 'peer refused'));
        else p.resolve(f.body);
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
   * Several experts of one layer in one request: the answer is their weights back to back
   * (`expertBytes` each, in request order) in one frame.
   */
  fetch(layer: number, items: readonly FetchItem[]): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    if (this.nextId > 0xffffffff) this.nextId = 1;
    const frame = encodeFetch(id, layer, items);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(frame);
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
    private readonly traffic: { sent: number; fetches: number; answers: number },
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
    const answers = new AnswerQueue(socket, this.traffic);
    socket.on('close', () => {
      this.sockets.delete(socket);
      answers.close();
    });
    socket.on('error', () => socket.destroy());
    const reader = new PeerFrameReader();
    socket.on('data', (chunk: Buffer) => {
      let frames: PeerFrame[];
      try {
        frames = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      try {
        for (const f of frames) this.answer(f, answers);
      } catch {
        // an answer that cannot be built (e.g. a frame over the limit) drops this connection, not the process
        socket.destroy();
        return;
      }
      answers.flush();
    });
  }

  /**
   * Queues the answer to one frame. The weights are read as the fetch arrives: the weights in
   * force, which stay so until the layer's commit, and no commit comes before every fetch of
   * the layer was answered.
   */
  private answer(f: PeerFrame, answers: AnswerQueue): void {
    const refuse = (error: string) => answers.push(0, encodeRefused(f.id, error));
    if (f.kind !== FETCH) return refuse(`unexpected frame kind ${f.kind}`);
    const { layer, items } = f;
    if (layer >= this.weights.numLayers) return refuse(`no layer ${layer}`);
    if (items.length === 0) return refuse('a fetch names at least one (rank, expert)');
    if (this.weights.dropsLayer(layer)) return answers.push(0, null);
    const bodies: Buffer[] = new Array<Buffer>(items.length);
    let size = 0;
    for (let k = 0; k < items.length; k++) {
      const w = this.weights.weightsOf(layer, items[k].rank, items[k].expert);
      if (typeof w === 'string') return refuse(w);
      bodies[k] = w;
      size += w.length;
    }
    answers.push(this.throttle.reserve(size), encodeWeights(f.id, bodies), size, items.length);
  }
}
