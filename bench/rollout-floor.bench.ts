/**
 * `npm run bench:rollout-floor`: what this machine allows for bench:rollout's message pattern, with
 * nothing of ours in it — the floor under `layer_overhead_*`. A coordinator and 8 bare Node
 * processes (one per node, as the agents) on loopback TCP, one JSON line per message; per layer:
 *   prepare — the coordinator writes one line (a part of bench:rollout's size) to each process;
 *             each asks six of the other seven for a 16-byte expert (bench:rollout's agents fetch
 *             from five or six nodes) and, with all six answers, acks;
 *   write   — one INSERT of 19 event rows (bench:rollout's per-layer count and sizes) into Postgres;
 *   commit  — one line to each process; each acks with 40 checksums (a commit ack's holdings).
 * FLOOR_LAYERS (default 232, after 58 unmeasured) layers back to back. Last line: one JSON object.
 * bench:rollout runs `measureFloor` in its own run, so its figures stand beside the floor of the
 * same moment on this (shared, busy) machine.
 */
import { ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { AddressInfo, createServer, connect, Socket } from 'node:net';
import { Client } from 'pg';
import { loadConfig } from '@eplb/platform';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const N = 8;
const LAYERS = Number(process.env.FLOOR_LAYERS ?? 232);
const WARMUP = 58;

/** Newline-delimited JSON on a socket: calls `on` per line. */
function lines(s: Socket, on: (line: string) => void): void {
  s.setNoDelay(true);
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      on(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

/** One "agent": serves peers' fetches, fetches from its peers on prepare (unless `fetches` is off), acks. */
function child(me: number, coordinatorPort: number, peerBase: number, fetches: boolean): void {
  const expert = Buffer.alloc(16, me).toString('base64');
  createServer((s) => lines(s, (l) => s.write(`${JSON.stringify({ id: (JSON.parse(l) as { id: number }).id, expert })}\n`))).listen(peerBase + me, '127.0.0.1');
  const peers = new Map<number, { s: Socket; waiting: Map<number, () => void> }>();
  let next = 0;
  const fetchFrom = (p: number) =>
    new Promise<void>((resolve) => {
      let c = peers.get(p);
      if (!c) {
        const s = connect(peerBase + p, '127.0.0.1');
        const entry = { s, waiting: new Map<number, () => void>() };
        lines(s, (l) => {
          const id = (JSON.parse(l) as { id: number }).id;
          entry.waiting.get(id)?.();
          entry.waiting.delete(id);
        });
        peers.set(p, (c = entry));
      }
      const id = next++;
      c.waiting.set(id, resolve);
      c.s.write(`${JSON.stringify({ id, layer: 0, items: [[p * N, 1]] })}\n`);
    });
  const checksums = Array.from({ length: 40 }, (_, k) => createHash('sha256').update(String(k)).digest('hex'));
  setTimeout(() => {
    const s = connect(coordinatorPort, '127.0.0.1');
    lines(s, (l) => {
      const m = JSON.parse(l) as { kind: string; layer: number };
      const ack = (extra: object) => s.write(`${JSON.stringify({ v: 1, type: 'ack', node: me, ack: { layer: m.layer, phase: m.kind, ok: true, ...extra }, sentAt: Date.now() })}\n`);
      if (m.kind === 'prepare' && !fetches) ack({});
      else if (m.kind === 'prepare') {
        void Promise.all(Array.from({ length: N - 2 }, (_, k) => (me + 1 + k) % N).map(fetchFrom)).then(() => ack({}));
      } else ack({ holdings: { layer: m.layer, version: 2, ranks: Array.from({ length: 8 }, (_, r) => ({ rank: me * 8 + r, experts: [1, 2, 3, 4, 5], checksums: checksums.slice(r * 5, r * 5 + 5) })) } });
    });
  }, 300);
}

export interface RolloutFloor {
  readonly layers: number;
  readonly p50: number;
  readonly p99: number;
  readonly prepare: readonly [number, number];
  readonly write: readonly [number, number];
  readonly commit: readonly [number, number];
}

/**
 * Runs the floor's layers against `databaseUrl`; per-layer figures in ms (p50, p99). With
 * `peerFetches` false the processes ack a prepare at once: the control messages and the write
 * alone, no peer transfer (the floor under a rollout whose agents stage from local copies, or
 * the control plane's own share beside the full floor).
 */
export async function measureFloor(databaseUrl: string, layers = LAYERS, peerFetches = true): Promise<RolloutFloor> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  await pg.query('CREATE TEMP TABLE floor_events (id bigserial PRIMARY KEY, stream text, type text, payload jsonb)');
  const socks: Socket[] = [];
  let pending = 0;
  let done: () => void = () => undefined;
  const server = createServer((s) => {
    socks.push(s);
    lines(s, () => {
      if (--pending === 0) done();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const peerBase = 7600 + Math.floor(Math.random() * 300);
  const kids: ChildProcess[] = Array.from({ length: N }, (_, a) => fork(__filename, ['child', String(a), String(port), String(peerBase), peerFetches ? 'fetch' : 'no-fetch']));
  try {
    const t0 = Date.now();
    while (socks.length < N) {
      if (Date.now() - t0 > 60_000) throw new Error('processes did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
    // a prepare part as bench:rollout sends it: the layer's full row and 40 receives
    const part = { row: Array.from({ length: 320 }, (_, p) => p % 256), receives: Array.from({ length: 40 }, (_, k) => ({ slot: k, source: (k + 8) % 64, expert: k })) };
    const fan = (kind: string, layer: number) =>
      new Promise<void>((resolve) => {
        done = resolve;
        pending = N;
        for (const [a, s] of socks.entries()) s.write(`${JSON.stringify({ v: 1, kind, layer, agent: a, ...(kind === 'prepare' ? { part } : {}) })}\n`);
      });
    const rows = (layer: number) =>
      Array.from({ length: 19 }, (_, k) => JSON.stringify(k < 8 ? { type: 'ack', at: Date.now(), ack: { layer, holdings: { checksums: Array.from({ length: 40 }, () => 'f'.repeat(64)) } } } : { type: 'ack', at: Date.now(), ack: { layer, phase: 'prepare', ok: true } }));
    const totals: number[] = [];
    const prepares: number[] = [];
    const writes: number[] = [];
    const commits: number[] = [];
    for (let k = 0; k < WARMUP + layers; k++) {
      const a = performance.now();
      await fan('prepare', k % 58);
      const b = performance.now();
      await pg.query(`INSERT INTO floor_events (stream, type, payload) SELECT 'rollout:floor', 'rollout.ack', p FROM unnest($1::jsonb[]) AS p`, [rows(k % 58)]);
      const c = performance.now();
      await fan('commit', k % 58);
      const d = performance.now();
      if (k < WARMUP) continue;
      totals.push(d - a);
      prepares.push(b - a);
      writes.push(c - b);
      commits.push(d - c);
    }
    const q = (xs: number[], p: number) => Number(xs.slice().sort((x, y) => x - y)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)].toFixed(1));
    const both = (xs: number[]) => [q(xs, 0.5), q(xs, 0.99)] as const;
    return { layers, p50: q(totals, 0.5), p99: q(totals, 0.99), prepare: both(prepares), write: both(writes), commit: both(commits) };
  } finally {
    for (const k of kids) k.kill('SIGTERM');
    server.close();
    await pg.end();
  }
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const fl = await measureFloor(config.DATABASE_URL);
  const result = { ranks: 64, agents: N, layers: fl.layers, floor_p50_ms: fl.p50, floor_p99_ms: fl.p99 };
  writeSection(
    'Rollout floor (`npm run bench:rollout-floor`)',
    `Command: \`npm run bench:rollout-floor\` (bench/rollout-floor.bench.ts). Machine: ${machine()}.
${floorDescription(fl.layers)}

| layers | p50 ms | p99 ms | prepare p50 / p99 | write p50 / p99 | commit p50 / p99 |
|---|---|---|---|---|---|
| ${fl.layers} | ${fl.p50} | ${fl.p99} | ${fl.prepare.join(' / ')} | ${fl.write.join(' / ')} | ${fl.commit.join(' / ')} |

This is the floor under bench:rollout's per-layer figures on this machine: the same processes, messages and write, no rollout logic.`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** What the floor measures, in a sentence or two (for RESULTS.md). */
export const floorDescription = (layers: number): string => `bench:rollout's message pattern with nothing of ours in it: a coordinator and ${N} bare Node processes on loopback TCP, one JSON line per
message. Per layer: prepare (a line of bench:rollout's part size to each process; each fetches a 16-byte expert from six of the other seven, then acks),
one Postgres INSERT of 19 event rows of bench:rollout's sizes, commit (a line to each; each acks with 40 checksums). ${layers} layers measured after ${WARMUP} unmeasured.`;

// a child process of the floor (forked from this file), or the bench itself — not when imported
if (process.argv[2] === 'child') child(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6] !== 'no-fetch');
else if (require.main === module)
  main().then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`[bench:rollout-floor] ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
