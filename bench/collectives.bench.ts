/**
 * The torch backend's transfers (python/eplb_bridge: torch.distributed P2P on gloo, CPU, loopback)
 * against the floor — a plain TCP socket copy of the same bytes on the same loopback — and the
 * per-layer overhead of a DeepSeek-V3-shaped layer part, scaled down to fit this machine.
 *
 *   npm run bench:collectives            (COLLECTIVES_REPEATS=N, default 3)
 *
 * Part 1: 2 ranks on 2 nodes swap all their slots (every expert crosses the link both ways):
 *   prepare (P2P into staging) and commit (swap at a step boundary) driven through TorchBackend,
 *   as an agent drives them; bytes/s = bytes moved / prepare time; the floor copies the same
 *   bytes both ways over one loopback TCP connection.
 * Part 2: 2 nodes × 2 ranks, a layer of DeepSeek-V3's shape (256 routed experts, 288 physical
 *   slots = 72 per rank) with every expert tensor scaled by 1/16 per dimension (hidden 7168 → 448,
 *   expert intermediate 2048 → 128; float16): per layer, prepare + commit time, the bytes moved,
 *   and the time the floor needs for those bytes; overhead = the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentPlanPart, DeploymentShape, planRollout } from '@eplb/domain';
import { TorchBackend } from '@eplb/device';
import { startBridges, stopBridges, BridgeProcess } from '../test/support/torch-bridges';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const REPEATS = Number(process.env.COLLECTIVES_REPEATS ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number): string => (b / 1e6).toFixed(1);

/** Sends `bytes` each way over one loopback TCP connection at once; resolves to the seconds taken. */
async function socketFloor(bytes: number): Promise<number> {
  const chunk = Buffer.alloc(4 * 1024 * 1024, 7);
  const pump = (s: Socket): Promise<void> =>
    new Promise((resolve) => {
      let left = bytes;
      const write = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            s.once('drain', write);
            return;
          }
        }
        resolve();
      };
      write();
    });
  const drain = (s: Socket): Promise<void> =>
    new Promise((resolve) => {
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= bytes) resolve();
      });
    });
  let accepted!: (s: Socket) => void;
  const server = createServer((s) => accepted(s));
  const serverSide = new Promise<Socket>((r) => (accepted = r));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const srv = await serverSide;
  const t0 = process.hrtime.bigint();
  await Promise.all([pump(client), pump(srv), drain(client), drain(srv)]);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  client.destroy();
  srv.destroy();
  server.close();
  return s;
}

const secondsOf = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

interface Rig {
  bridges: BridgeProcess[];
  agents: TorchBackend[];
  dir: string;
}

async function rig(shape: DeploymentShape, map: number[][], weights: string): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'eplb-collectives-'));
  const bridges = await startBridges({ dir, shape, map, version: 1, weights, stepMs: 1, timeoutMs: 600_000 });
  const sockets = Object.fromEntries(bridges.map((b) => [b.rank, b.socket]));
  const agents = Array.from({ length: shape.numNodes }, (_, a) => new TorchBackend({ shape, agent: a, sockets, prepareTimeoutMs: 600_000, commitTimeoutMs: 600_000 }));
  await Promise.all(agents.map((a) => a.connect()));
  return { bridges, agents, dir };
}

async function closeRig(r: Rig): Promise<void> {
  await Promise.all(r.agents.map((a) => a.close()));
  await stopBridges(r.bridges);
  rmSync(r.dir, { recursive: true, force: true });
}

/** One layer through every agent: prepare on all, then commit on all; seconds of each. */
async function moveLayer(agents: TorchBackend[], layer: number, parts: AgentPlanPart[], rollout: string): Promise<{ prepare: number; commit: number }> {
  const prepare = await secondsOf(() => Promise.all(agents.map((a, i) => a.prepare(layer, parts[i], { rolloutId: rollout, attempt: 1 }))));
  const commit = await secondsOf(() => Promise.all(agents.map((a) => a.commit(layer, rollout))));
  return { prepare, commit };
}

async function bandwidth(): Promise<string[]> {
  // 8 slots per rank; an expert: w13 [512, 1024] + w2 [1024, 512] float16 = 2 MiB
  const S = 8;
  const shape: DeploymentShape = { numLayers: 1, numExperts: 2 * S, numRanks: 2, slotsPerRank: S, numNodes: 2 };
  const a = [Array.from({ length: 2 * S }, (_, p) => p)];
  const b = [Array.from({ length: 2 * S }, (_, p) => (p + S) % (2 * S))];
  const expertBytes = 2 * 512 * 1024 * 2;
  const r = await rig(shape, a, 'w13:512x1024,w2:1024x512');
  const torch: number[] = [];
  const commits: number[] = [];
  const floor: number[] = [];
  let moved = 0;
  try {
    // run 0 warms up (the first P2P on a pair, first allocations) and is not counted
    for (let i = 0; i <= REPEATS; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const plan = planRollout({ rolloutId: `bw-${i}`, deployment: 'bench', shape, fromVersion: 1 + i, toVersion: 2 + i, current: from, target: to, expertBytes });
      moved = plan.layers[0].bytes;
      const t = await moveLayer(r.agents, 0, plan.layers[0].forward, `bw-${i}`);
      if (i === 0) continue;
      torch.push(t.prepare);
      commits.push(t.commit);
      floor.push(await socketFloor(moved / 2));
    }
  } finally {
    await closeRig(r);
  }
  const bps = moved / median(torch);
  const fbps = moved / median(floor);
  return [
    `Part 1 — 2 ranks on 2 nodes swap all ${S} slots each (${2 * S} experts of ${mb(expertBytes)} MB: ${mb(moved)} MB per prepare, half each way), median of ${REPEATS} after a warm-up run; the floor right after each:`,
    '',
    '| path | median s | MB/s at the median | best s | MB/s at the best |',
    '|---|---|---|---|---|',
    `| torch backend prepare (gloo P2P into staging, both ways at once) | ${median(torch).toFixed(3)} | ${mb(bps)} | ${Math.min(...torch).toFixed(3)} | ${mb(moved / Math.min(...torch))} |`,
    `| floor: plain TCP socket copy of the same bytes (both ways at once, one connection) | ${median(floor).toFixed(3)} | ${mb(fbps)} | ${Math.min(...floor).toFixed(3)} | ${mb(moved / Math.min(...floor))} |`,
    `| torch backend commit (swap at the next step boundary, 1 ms steps; the answer hashes the 8 slots) | ${median(commits).toFixed(3)} | — | ${Math.min(...commits).toFixed(3)} | — |`,
    '',
    `torch / floor: ${(bps / fbps).toFixed(2)}× at the medians, ${(Math.min(...floor) / Math.min(...torch)).toFixed(2)}× at the best runs (all runs: torch ${torch.map((x) => x.toFixed(3)).join(', ')} s; floor ${floor.map((x) => x.toFixed(3)).join(', ')} s).`,
  ];
}

async function layerOverhead(): Promise<string[]> {
  const E = 256;
  const R = 4;
  const S = 72; // 288 slots: DeepSeek-V3's 256 routed experts plus 32 redundant
  const L = REPEATS + 1;
  const shape: DeploymentShape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 2 };
  const P = R * S;
  const row = (shift: number): number[] => Array.from({ length: P }, (_, p) => (p < E ? (p + shift) % E : (p * 7 + shift) % E));
  const current = Array.from({ length: L }, () => row(0));
  // a rebalance that moves one slot in eight: slot pairs (p, p + P/2) swap experts across the nodes
  const target = current.map((r) => r.map((e, p) => (p % 8 === 3 ? r[(p + P / 2) % P] : e)));
  // one expert of DeepSeek-V3 is w13 [2·2048, 7168] + w2 [7168, 2048]; 1/16 per dimension
  const expertBytes = (256 * 448 + 448 * 128) * 2;
  const r = await rig(shape, current, 'w13:256x448,w2:448x128');
  const rows: string[] = [];
  const overheads: number[] = [];
  try {
    const plan = planRollout({ rolloutId: 'dsv3', deployment: 'bench', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes });
    for (const pl of plan.layers.slice(0, REPEATS + 1)) {
      const t = await moveLayer(r.agents, pl.layer, pl.forward, 'dsv3');
      if (pl === plan.layers[0]) continue; // the first layer pays the group's first connections
      // the floor for the same bytes, right after (half each way, as the layer's moves go both ways)
      const floorS = await socketFloor(pl.bytes / 2);
      const over = t.prepare + t.commit - floorS;
      overheads.push(over);
      rows.push(`| ${pl.layer} | ${pl.transfers} | ${mb(pl.bytes)} | ${t.prepare.toFixed(3)} | ${t.commit.toFixed(3)} | ${floorS.toFixed(3)} | ${over.toFixed(3)} |`);
    }
    return [
      `Part 2 — a DeepSeek-V3-shaped layer part on 2 nodes × 2 ranks: 256 experts in 288 slots (72 per rank), one slot in eight changes (pairs of slots swap across the nodes); expert tensors 1/16 per dimension (w13 [256, 448], w2 [448, 128], float16: ${mb(expertBytes)} MB per expert instead of ~88 MB in bf16); the first layer is a warm-up; the floor copies the layer's bytes right after it (half each way). Commit includes the answer's holdings: every rank hashes its 72 live slots (sha256 of a host copy) after the swap:`,
      '',
      '| layer | experts moved | MB moved | prepare s | commit s | floor s for the bytes | overhead s |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Median per-layer overhead (prepare + commit − the floor's time for the bytes): ${median(overheads).toFixed(3)} s.`,
    ];
  } finally {
    await closeRig(r);
  }
}

async function main(): Promise<void> {
  const load = loadavg()[0].toFixed(1);
  const part1 = await bandwidth();
  console.log(part1.join('\n'));
  const part2 = await layerOverhead();
  const body = [
    `Command: \`COLLECTIVES_REPEATS=${REPEATS} npm run bench:collectives\`.`,
    '',
    `Machine: ${machine()}; load average ${load} at start (a shared machine: other work ran meanwhile). CPU only: no GPU here, so nccl did not run — the bridge's nccl path (a side CUDA stream, the same P2P ops) is untested.`,
    '',
    ...part1,
    '',
    ...part2,
  ].join('\n');
  console.log(body);
  writeSection('Collectives: torch backend vs a socket copy (`npm run bench:collectives`)', body);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
