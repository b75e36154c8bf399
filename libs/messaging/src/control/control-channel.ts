import { createServer, connect, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';

/**
 * A direct, low-latency control channel between the rollout service and its agents: one TCP
 * connection per (agent, service instance), newline-delimited JSON both ways. Kafka carries the
 * same messages when no connection is up; this channel exists because a Kafka round trip
 * (produce with acks=all, a consumer fetch, an offset commit) costs tens of milliseconds on a
 * busy node and a layer's prepare + commit is four such trips (bench:rollout).
 *
 * The server knows nothing of rollouts: the first line a client sends is its hello, which the
 * `authenticate` callback accepts (returning who the peer is, and the welcome line to answer) or
 * refuses (the reason is sent back as `{"type":"refused","reason":…}` and the connection closed).
 * Lines after that go to `onMessage` with the session they came on; what they say and how they
 * are authenticated (the rollout's session MACs, libs/contracts control-session) is the callers'. Malformed lines never throw: they are counted and
 * reported to `onInvalid`, and the connection stays.
 *
 * With `tls` on both ends the channel runs over TLS: the hello carries the agent's token, which
 * must not cross a network in the clear, and the agent learns it talks to the real service.
 */
export const MAX_CONTROL_LINE = 1024 * 1024;

/** Splits a byte stream into lines, refusing any longer than `max` bytes. */
export class LineReader {
  private pending: Buffer[] = [];
  private size = 0;

  constructor(private readonly max = MAX_CONTROL_LINE) {}

  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, i);
      if (this.size + piece.length > this.max) throw new Error(`control line longer than ${this.max} bytes`);
      const line = this.size === 0 ? piece.toString('utf8') : Buffer.concat([...this.pending, piece]).toString('utf8');
      this.pending = [];
      this.size = 0;
      if (line.length > 0) out.push(line);
      start = i + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.size += rest.length;
      if (this.size > this.max) throw new Error(`control line longer than ${this.max} bytes`);
      this.pending.push(Buffer.from(rest));
    }
    return out;
  }
}

const encodeLine = (msg: unknown): string => `${JSON.stringify(msg)}\n`;

/** Lines as one text to write, each ended by its newline. */
const joinLines = (lines: readonly string[]): string => `${lines.join('\n')}\n`;

export interface ControlSession<P> {
  readonly id: number;
  readonly peer: P;
  readonly remote: string;
  /** False once the connection is gone. */
  readonly open: boolean;
  /** Writes one message; false when the connection is gone (the caller falls back). */
  send(msg: unknown): boolean;
  /** Writes one line as it is (a signed message); false when the connection is gone. */
  sendLine(line: string): boolean;
  /**
   * Writes several lines as they are, in order, in ONE socket write: the peer reads them in one
   * wake-up (what one step decides for one agent). False when the connection is gone.
   */
  sendLines(lines: readonly string[]): boolean;
  close(): void;
}

/** `welcome`: the line sent back on acceptance, as it is (a signed message). */
export type Authentication<P> = { ok: true; peer: P; welcome?: string } | { ok: false; reason: string };

export interface ControlServerOptions<P> {
  authenticate(hello: string): Promise<Authentication<P>>;
  onSession?(s: ControlSession<P>): void;
  onMessage(s: ControlSession<P>, line: string): void;
  onClose?(s: ControlSession<P>): void;
  onInvalid?(remote: string, reason: string): void;
  /** A client must say hello within this long. */
  helloTimeoutMs?: number;
  /** Serve TLS with this certificate and key (PEM); plain TCP without. */
  tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

class SocketSession<P> implements ControlSession<P> {
  open = true;
  constructor(
    readonly id: number,
    readonly peer: P,
    readonly remote: string,
    private readonly socket: Socket,
  ) {}

  send(msg: unknown): boolean {
    return this.sendLine(JSON.stringify(msg));
  }

  sendLine(line: string): boolean {
    return this.sendLines([line]);
  }

  sendLines(lines: readonly string[]): boolean {
    if (!this.open || this.socket.destroyed) return false;
    if (lines.length > 0) this.socket.write(joinLines(lines));
    return true;
  }

  close(): void {
    this.open = false;
    this.socket.end();
  }
}

export class ControlServer<P> {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private nextId = 1;

  constructor(private readonly o: ControlServerOptions<P>) {}

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const tls = this.o.tls;
    const server = tls ? tlsCreateServer({ cert: tls.cert, key: tls.key }, (socket) => this.accept(socket)) : createServer((socket) => this.accept(socket));
    // a client that fails the handshake never reaches accept: report it
    server.on('tlsClientError', (e: Error, socket: Socket) => this.o.onInvalid?.(`${socket.remoteAddress}:${socket.remotePort}`, `TLS handshake failed: ${e.message}`));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    // a peer that vanished without closing is noticed by the kernel, and its session closes
    socket.setKeepAlive(true, 10_000);
    this.sockets.add(socket);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const reader = new LineReader();
    let session: SocketSession<P> | null = null;
    let authenticating = false;
    const queued: string[] = [];
    const helloTimer = setTimeout(() => {
      if (!session) {
        this.o.onInvalid?.(remote, 'no hello in time');
        socket.destroy();
      }
    }, this.o.helloTimeoutMs ?? 5_000);
    helloTimer.unref();

    const deliver = (line: string) => {
      if (session) this.o.onMessage(session, line);
    };
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch (e) {
        this.o.onInvalid?.(remote, (e as Error).message);
        socket.destroy();
        return;
      }
      for (const line of lines) {
        if (session) deliver(line);
        else if (authenticating) queued.push(line);
        else {
          authenticating = true;
          void this.o.authenticate(line).then(
            (auth) => {
              clearTimeout(helloTimer);
              if (socket.destroyed) return;
              if (!auth.ok) {
                this.o.onInvalid?.(remote, `hello refused: ${auth.reason}`);
                socket.end(encodeLine({ type: 'refused', reason: auth.reason }));
                return;
              }
              session = new SocketSession(this.nextId++, auth.peer, remote, socket);
              if (auth.welcome !== undefined) session.sendLine(auth.welcome);
              this.o.onSession?.(session);
              for (const q of queued.splice(0)) deliver(q);
            },
            (e: Error) => {
              this.o.onInvalid?.(remote, `hello failed: ${e.message}`);
              socket.destroy();
            },
          );
        }
      }
    });
    const closed = () => {
      clearTimeout(helloTimer);
      this.sockets.delete(socket);
      if (session && session.open) {
        session.open = false;
        this.o.onClose?.(session);
      }
    };
    socket.on('close', closed);
    socket.on('error', () => undefined);
  }
}

export interface ControlEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface ControlClientOptions {
  readonly endpoint: ControlEndpoint;
  /** The first line sent on every (re)connection, as it is (a signed hello). */
  readonly hello: () => string;
  onMessage(line: string): void;
  onState?(connected: boolean, detail: string): void;
  /** Back-off between reconnection attempts (doubles up to `maxRetryMs`). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /**
   * Dial TLS and verify the service's certificate against `ca` (PEM; the system's CAs without),
   * for the name `servername` (default: the endpoint's host). Plain TCP without.
   */
  readonly tls?: { readonly ca?: string | Buffer; readonly servername?: string };
}

/** The agent's end: keeps one connection to one service instance up, reconnecting with back-off. */
export class ControlClient {
  private socket: Socket | null = null;
  private connected = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private delay: number;

  constructor(private readonly o: ControlClientOptions) {
    this.delay = o.retryMs ?? 200;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.dial();
  }

  /** Writes one message; false when not connected (the caller falls back to Kafka). */
  send(msg: unknown): boolean {
    return this.sendLine(JSON.stringify(msg));
  }

  /** Writes one line as it is (a signed message); false when not connected. */
  sendLine(line: string): boolean {
    return this.sendLines([line]);
  }

  /** Writes several lines as they are, in order, in one socket write; false when not connected. */
  sendLines(lines: readonly string[]): boolean {
    if (!this.connected || !this.socket || this.socket.destroyed) return false;
    if (lines.length > 0) this.socket.write(joinLines(lines));
    return true;
  }

  /** Drops the current connection (a peer that failed a check): it is dialled again after the back-off. */
  drop(): void {
    this.socket?.destroy();
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.destroy();
    this.connected = false;
  }

  private dial(): void {
    if (this.closed) return;
    const { host, port } = this.o.endpoint;
    const tls = this.o.tls;
    const socket: Socket = tls ? tlsConnect({ host, port, ...(tls.ca ? { ca: tls.ca } : {}), servername: tls.servername ?? host }) : connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const reader = new LineReader();
    // over TLS the hello (it carries the token) waits for a verified handshake
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.delay = this.o.retryMs ?? 200;
      socket.write(`${this.o.hello()}\n`);
      this.o.onState?.(true, `connected to ${host}:${port}`);
    });
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const line of lines) this.o.onMessage(line);
    });
    socket.on('error', (e: Error) => {
      if (tls && !this.connected) this.o.onState?.(false, `TLS connection to ${host}:${port} failed: ${e.message}`);
    });
    socket.on('close', () => {
      const was = this.connected;
      this.connected = false;
      if (this.socket === socket) this.socket = null;
      if (was) this.o.onState?.(false, `disconnected from ${host}:${port}`);
      if (this.closed) return;
      this.retry = setTimeout(() => this.dial(), this.delay);
      this.retry.unref();
      this.delay = Math.min(this.delay * 2, this.o.maxRetryMs ?? 5_000);
    });
  }
}

/** Parses `host:port,host:port`. */
export function parseControlEndpoints(s: string): ControlEndpoint[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^:\s]+):(\d{1,5})$/.exec(part);
      if (!m || Number(m[2]) > 65535) throw new Error(`control endpoint "${part}" is not host:port`);
      return { host: m[1], port: Number(m[2]) };
    });
}
