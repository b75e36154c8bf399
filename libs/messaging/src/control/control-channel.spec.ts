import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ControlClient, ControlServer, ControlSession, LineReader, parseControlEndpoints } from './control-channel';

const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('LineReader', () => {
  it('reassembles lines split across chunks and skips empty ones', () => {
    const r = new LineReader();
    expect(r.push(Buffer.from('{"a":1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(r.push(Buffer.from(':2'))).toEqual([]);
    expect(r.push(Buffer.from('}\n\n{"c":3}\n'))).toEqual(['{"b":2}', '{"c":3}']);
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const r = new LineReader();
    const bytes = Buffer.from('"héat"\n');
    expect(r.push(bytes.subarray(0, 3))).toEqual([]);
    expect(r.push(bytes.subarray(3))).toEqual(['"héat"']);
  });

  it('refuses a line longer than its limit, with or without a newline', () => {
    expect(() => new LineReader(8).push(Buffer.from('0123456789\n'))).toThrow('longer than 8 bytes');
    const r = new LineReader(8);
    r.push(Buffer.from('01234'));
    expect(() => r.push(Buffer.from('56789'))).toThrow('longer than 8 bytes');
  });
});

describe('parseControlEndpoints', () => {
  it('parses host:port lists and names a bad entry', () => {
    expect(parseControlEndpoints(' a:1, 127.0.0.1:3473 ')).toEqual([
      { host: 'a', port: 1 },
      { host: '127.0.0.1', port: 3473 },
    ]);
    expect(parseControlEndpoints('')).toEqual([]);
    expect(() => parseControlEndpoints('a:1,b')).toThrow('control endpoint "b" is not host:port');
    expect(() => parseControlEndpoints('a:70000')).toThrow('not host:port');
  });
});

describe('ControlServer and ControlClient over loopback TCP', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  interface Peer {
    name: string;
  }

  async function server(received: string[], invalid: string[] = [], tls?: { cert: Buffer; key: Buffer }) {
    const sessions: ControlSession<Peer>[] = [];
    const s = new ControlServer<Peer>({
      ...(tls ? { tls } : {}),
      authenticate: async (hello) => {
        const h = JSON.parse(hello) as { token?: string; name?: string };
        return h.token === 'good' ? { ok: true, peer: { name: String(h.name) }, welcome: JSON.stringify({ type: 'welcome' }) } : { ok: false, reason: 'bad token' };
      },
      onSession: (x) => sessions.push(x),
      onMessage: (x, line) => received.push(`${x.peer.name}:${line}`),
      onInvalid: (_remote, reason) => invalid.push(reason),
      helloTimeoutMs: 200,
    });
    const port = await s.listen(0, '127.0.0.1');
    closers.push(() => s.close());
    return { s, port, sessions };
  }

  /** A server and an agent-0 client past the hello: what the server received, its sessions, what the client got (the welcome first). */
  async function welcomedAgent() {
    const received: string[] = [];
    const { port, sessions } = await server(received);
    const got: string[] = [];
    const c = new ControlClient({ endpoint: { host: '127.0.0.1', port }, hello: () => JSON.stringify({ token: 'good', name: 'agent-0' }), onMessage: (l) => got.push(l) });
    closers.push(() => c.close());
    c.start();
    await until(() => sessions.length === 1 && got.length === 1);
    return { received, sessions, got, c };
  }

  it('authenticates the hello, then carries lines both ways', async () => {
    const { received, sessions, got, c } = await welcomedAgent();
    expect(JSON.parse(got[0])).toEqual({ type: 'welcome' });
    expect(c.send({ ack: 1 })).toBe(true);
    expect(sessions[0].send({ command: 'prepare' })).toBe(true);
    await until(() => received.length === 1 && got.length === 2);
    expect(received).toEqual(['agent-0:{"ack":1}']);
    expect(JSON.parse(got[1])).toEqual({ command: 'prepare' });
  });

  it('writes several lines in one socket write, each its own message, in order, both ways', async () => {
    const { received, sessions, got, c } = await welcomedAgent();
    const writes = vi.spyOn(Socket.prototype, 'write');
    try {
      expect(sessions[0].sendLines(['{"commit":3}', '{"prepare":7}'])).toBe(true);
      expect(c.sendLines(['{"ack":3}', '{"ack":7}'])).toBe(true);
      expect(writes).toHaveBeenCalledTimes(2);
      expect(writes.mock.calls.map((call) => call[0])).toEqual(['{"commit":3}\n{"prepare":7}\n', '{"ack":3}\n{"ack":7}\n']);
    } finally {
      writes.mockRestore();
    }
    await until(() => got.length === 3 && received.length === 2);
    expect(got.slice(1)).toEqual(['{"commit":3}', '{"prepare":7}']);
    expect(received).toEqual(['agent-0:{"ack":3}', 'agent-0:{"ack":7}']);
  });

  it('refuses a bad hello with the reason and closes; a silent client is dropped', async () => {
    const invalid: string[] = [];
    const { port, sessions } = await server([], invalid);
    const got: string[] = [];
    const c = new ControlClient({ endpoint: { host: '127.0.0.1', port }, hello: () => JSON.stringify({ token: 'bad' }), onMessage: (l) => got.push(l), retryMs: 10_000 });
    closers.push(() => c.close());
    c.start();
    await until(() => got.length === 1);
    expect(JSON.parse(got[0])).toEqual({ type: 'refused', reason: 'bad token' });
    await until(() => !c.isConnected);
    const silent = connect({ host: '127.0.0.1', port });
    closers.push(() => silent.destroy());
    await until(() => invalid.includes('no hello in time'));
    expect(sessions).toHaveLength(0);
    expect(invalid).toContain('hello refused: bad token');
  });

  it('drops a connection sending an over-long line without crashing the server', async () => {
    const invalid: string[] = [];
    const received: string[] = [];
    const { port } = await server(received, invalid);
    const raw = connect({ host: '127.0.0.1', port });
    raw.on('error', () => undefined); // the server resets it
    closers.push(() => raw.destroy());
    await new Promise((r) => raw.once('connect', r));
    raw.write(`${JSON.stringify({ token: 'good', name: 'x' })}\n`);
    raw.write(Buffer.alloc(2 * 1024 * 1024, 0x61));
    await until(() => invalid.some((r) => r.includes('longer than')));
    // the server still accepts others
    const got: string[] = [];
    const c = new ControlClient({ endpoint: { host: '127.0.0.1', port }, hello: () => JSON.stringify({ token: 'good', name: 'y' }), onMessage: (l) => got.push(l) });
    closers.push(() => c.close());
    c.start();
    await until(() => got.length === 1);
  });

  it('reconnects after the server restarts, saying hello again', async () => {
    const received: string[] = [];
    const first = await server(received);
    const port = first.port;
    let hellos = 0;
    const c = new ControlClient({
      endpoint: { host: '127.0.0.1', port },
      hello: () => {
        hellos++;
        return JSON.stringify({ token: 'good', name: 'agent' });
      },
      onMessage: () => undefined,
      retryMs: 20,
      maxRetryMs: 50,
    });
    closers.push(() => c.close());
    c.start();
    await until(() => first.sessions.length === 1);
    await first.s.close();
    await until(() => !c.isConnected);
    const again = new ControlServer<Peer>({
      authenticate: async () => ({ ok: true, peer: { name: 'again' } }),
      onMessage: (_x, line) => received.push(line),
    });
    await again.listen(port, '127.0.0.1');
    closers.push(() => again.close());
    await until(() => c.isConnected && hellos === 2);
    await until(() => c.send({ after: 'restart' }) && received.includes('{"after":"restart"}'));
  });

  describe('over TLS', () => {
    // a throw-away self-signed certificate for localhost / 127.0.0.1, made for this run
    let dir: string;
    let tls: { cert: Buffer; key: Buffer };
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'eplb-control-tls-'));
      const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
      tls = { cert: readFileSync(cert), key: readFileSync(key) };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('carries the hello and lines both ways once the client has verified the service', async () => {
      const received: string[] = [];
      const { port, sessions } = await server(received, [], tls);
      const got: string[] = [];
      const c = new ControlClient({ endpoint: { host: '127.0.0.1', port }, tls: { ca: tls.cert }, hello: () => JSON.stringify({ token: 'good', name: 'agent-0' }), onMessage: (l) => got.push(l) });
      closers.push(() => c.close());
      c.start();
      await until(() => sessions.length === 1 && got.length === 1);
      expect(JSON.parse(got[0])).toEqual({ type: 'welcome' });
      expect(c.send({ ack: 1 })).toBe(true);
      await until(() => received.length === 1);
      expect(received).toEqual(['agent-0:{"ack":1}']);
    });

    it('never sends the hello to a service whose certificate it cannot verify, nor talks plain TCP to a TLS port', async () => {
      const invalid: string[] = [];
      const { port, sessions } = await server([], invalid, tls);
      const states: string[] = [];
      let hellos = 0;
      // no CA given: the self-signed certificate does not chain to the system's CAs
      const c = new ControlClient({
        endpoint: { host: '127.0.0.1', port },
        tls: {},
        hello: () => {
          hellos++;
          return JSON.stringify({ token: 'good', name: 'x' });
        },
        onMessage: () => undefined,
        onState: (_up, detail) => states.push(detail),
        retryMs: 10_000,
      });
      closers.push(() => c.close());
      c.start();
      await until(() => states.some((s) => /TLS connection to 127\.0\.0\.1:\d+ failed: self[- ]signed certificate/.test(s)));
      expect(hellos).toBe(0);
      // a plain client's hello is not TLS: the handshake fails on the server, no session
      const plain = new ControlClient({ endpoint: { host: '127.0.0.1', port }, hello: () => JSON.stringify({ token: 'good', name: 'plain' }), onMessage: () => undefined, retryMs: 10_000 });
      closers.push(() => plain.close());
      plain.start();
      await until(() => invalid.some((r) => r.startsWith('TLS handshake failed')));
      expect(sessions).toHaveLength(0);
    });
  });
});
