/**
 * `npm run bench:rollout-floor`: what this machine allows for bench:rollout's message pattern, with
 * nothing of ours in it — the floor under `layer_overhead_*`. A coordinator and 8 bare Node
 * processes (one per node, as the agents) on loopback TCP, one JSON line per message; per layer:
 *   prepare — the coordinator writes one line (a part of bench:rollout's size) to each process;
 *             each asks six of the other seven for a 16-byte expert (bench:rollout's agents fetch
 *             from five or six nodes) and, with all six answers, acks;
 *   write   — one INSERT of 19 event rows (bench:rollout's per-layer count and sizes) into Postgres;
 *   commit  — one line to each process; each acks with 40 checksums (a commit ack's holdings).
 * FLOOR_LAYERS (default 232, after 290 unmeasured) layers back to back. Last line: one JSON object.
 * bench:rollout starts these processes once (`startFloor`) and measures the floor in blocks between
 * its measured rounds, so its figures stand beside the floor of the same moments on this (shared,
 * busy) machine; `measureFloor` runs them in one go, as here.
 */
import { ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { AddressInfo, createServer, connect, Socket } from 'node:net';
import { Client } from 'pg';
import { loadConfig } from '@eplb/platform';
import { machine } from './lib/machine';
import { processCpuMs } from './lib/process-cpu';
import { writeSection } from './lib/results';
import { terminate } from './lib/terminate';

const N = 8;
/** Measured layers (bench:rollout: in all, over its blocks). */
export const FLOOR_LAYERS = Number(process.env.FLOOR_LAYERS ?? 232);
/**
 * Unmeasured layers first: five rollouts' worth. The processes' peer-fetch path is still being
 * compiled well past one rollout's 58 layers — after 58 unmeasured, blocks of 77 layers read p50
 * 8.7, 6.6, 5.8, then 4.7–5.7 ms (bench/probes/floor-warmth) — and a floor measured while warming
 * reads slower than the warm floor it stands for (bench:rollout's processes are warmed by whole
 * rollouts, five to eight of them here).
 */
export const FLOOR_WARMUP = 5 * 58;
/** The floor's Postgres connection's application_name. */
export const FLOOR_APPLICATION = 'eplb-bench-rollout-floor';

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
  /** CPU per layer of the 8 processes together (ms). */
  readonly processesCpuMsPerLayer: number;
}

/** Per-layer times (ms) of measured floor layers, in the order run: the whole layer and its three parts. */
export interface FloorSamples {
  readonly totals: number[];
  readonly prepares: number[];
  readonly writes: number[];
  readonly commits: number[];
  /** CPU (user + system, ms) the 8 processes used over these layers, together: what bench:rollout's agents compare with. */
  processesCpuMs: number;
}

export const noFloorSamples = (): FloorSamples => ({ totals: [], prepares: [], writes: [], commits: [], processesCpuMs: 0 });

/** Appends `more` to `into` (blocks measured apart, summed up as one floor). */
export function addFloorSamples(into: FloorSamples, more: FloorSamples): void {
  into.totals.push(...more.totals);
  into.prepares.push(...more.prepares);
  into.writes.push(...more.writes);
  into.commits.push(...more.commits);
  into.processesCpuMs += more.processesCpuMs;
}

const q = (xs: readonly number[], p: number) => Number(xs.slice().sort((x, y) => x - y)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)].toFixed(1));
const both = (xs: readonly number[]) => [q(xs, 0.5), q(xs, 0.99)] as const;

/** The floor's figures (ms, p50 and p99) over the given layers. */
export const floorFigures = (s: FloorSamples): RolloutFloor => ({ layers: s.totals.length, p50: q(s.totals, 0.5), p99: q(s.totals, 0.99), prepare: both(s.prepares), write: both(s.writes), commit: both(s.commits), processesCpuMsPerLayer: Number((s.processesCpuMs / s.totals.length).toFixed(1)) });

/** The floor's processes, started and warm: layers are measured in blocks, at the caller's moments. */
export interface FloorProcesses {
  /** Runs `layers` layers back to back; their times. */
  measure(layers: number): Promise<FloorSamples>;
  stop(): Promise<void>;
}

/** Peer ports of each start in this process apart (two floors may run side by side); random against another bench's floor. */
let nextPeerBase = 7600 + N * Math.floor(Math.random() * 35);

/**
 * Starts the floor's coordinator and processes against `databaseUrl` and runs its unmeasured
 * layers (first connections, JIT). With `peerFetches` false the processes ack a prepare at once:
 * the control messages and the write alone, no peer transfer (the floor under a rollout whose
 * agents stage from local copies, or the control plane's own share beside the full floor).
 */
export async function startFloor(databaseUrl: string, peerFetches = true): Promise<FloorProcesses> {
  // named, so bench:rollout can tell this connection from the rollout service's backends
  const pg = new Client({ connectionString: databaseUrl, application_name: FLOOR_APPLICATION });
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
  const peerBase = nextPeerBase;
  nextPeerBase += N;
  const kids: ChildProcess[] = Array.from({ length: N }, (_, a) => fork(__filename, ['child', String(a), String(port), String(peerBase), peerFetches ? 'fetch' : 'no-fetch']));
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await terminate(kids);
      server.close();
      await pg.end();
    })());
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
  // layers run so far: the layer number goes on through the blocks as through one rollout's layers
  let k = 0;
  const measure = async (layers: number): Promise<FloorSamples> => {
    const s = noFloorSamples();
    const cpu = () => kids.reduce((sum, kid) => sum + processCpuMs(kid.pid), 0);
    const cpuFrom = cpu();
    for (const end = k + layers; k < end; k++) {
      const a = performance.now();
      await fan('prepare', k % 58);
      const b = performance.now();
      await pg.query(`INSERT INTO floor_events (stream, type, payload) SELECT 'rollout:floor', 'rollout.ack', p FROM unnest($1::jsonb[]) AS p`, [rows(k % 58)]);
      const c = performance.now();
      await fan('commit', k % 58);
      const d = performance.now();
      s.totals.push(d - a);
      s.prepares.push(b - a);
      s.writes.push(c - b);
      s.commits.push(d - c);
    }
    s.processesCpuMs = cpu() - cpuFrom;
    return s;
  };
  try {
    const t0 = Date.now();
    while (socks.length < N) {
      if (Date.now() - t0 > 60_000) throw new Error('processes did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
    await measure(FLOOR_WARMUP);
  } catch (e) {
    await stop();
    throw e;
  }
  return { measure, stop };
}

/** The floor's layers in one go: started, `layers` measured after the warm-up, stopped. */
export async function measureFloor(databaseUrl: string, layers = FLOOR_LAYERS, peerFetches = true): Promise<RolloutFloor> {
  const floor = await startFloor(databaseUrl, peerFetches);
  try {
    return floorFigures(await floor.measure(layers));
  } finally {
    await floor.stop();
  }
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const fl = await measureFloor(config.DATABASE_URL);
  const result = { ranks: 64, agents: N, layers: fl.layers, floor_p50_ms: fl.p50, floor_p99_ms: fl.p99, floor_cpu_processes_ms_per_layer: fl.processesCpuMsPerLayer };
  writeSection(
    'Rollout floor (`npm run bench:rollout-floor`)',
    `Command: \`npm run bench:rollout-floor\` (bench/rollout-floor.bench.ts). Machine: ${machine()}.
${floorDescription(fl.layers)}

| layers | p50 ms | p99 ms | prepare p50 / p99 | write p50 / p99 | commit p50 / p99 | CPU per layer, the 8 processes together (ms) |
|---|---|---|---|---|---|---|
| ${fl.layers} | ${fl.p50} | ${fl.p99} | ${fl.prepare.join(' / ')} | ${fl.write.join(' / ')} | ${fl.commit.join(' / ')} | ${fl.processesCpuMsPerLayer} |

This is the floor under bench:rollout's per-layer figures on this machine: the same processes, messages and write, no rollout logic.`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** What the floor measures, in a sentence or two (for RESULTS.md). */
export const floorDescription = (layers: number): string => `bench:rollout's message pattern with nothing of ours in it: a coordinator and ${N} bare Node processes on loopback TCP, one JSON line per
message. Per layer: prepare (a line of bench:rollout's part size to each process; each fetches a 16-byte expert from six of the other seven, then acks),
one Postgres INSERT of 19 event rows of bench:rollout's sizes, commit (a line to each; each acks with 40 checksums). ${layers} layers measured after ${FLOOR_WARMUP} unmeasured.`;

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
