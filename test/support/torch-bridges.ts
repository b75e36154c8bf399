import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DeploymentShape } from '@eplb/domain';

const ROOT = join(__dirname, '..', '..');

/** One engine rank played by `python3 -m eplb_bridge` (reference weights, a driver loop calling the step boundary). */
export interface BridgeProcess {
  readonly rank: number;
  readonly socket: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Its stderr so far (why it failed, if it did). */
  readonly stderr: () => string;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/**
 * Starts one bridge process per rank of `shape`, all in one process group (`backend`, default
 * gloo) over a TCP store that rank 0 hosts, serving `map` (version `version`) with weights `weights`
 * (`name:dims,...` per expert); resolves once every rank said it is ready (the group is up and its
 * socket listens).
 */
export async function startBridges(opts: {
  dir: string;
  shape: DeploymentShape;
  map: number[][];
  version: number;
  weights: string;
  dtype?: string;
  stepMs?: number;
  timeoutMs?: number;
}): Promise<BridgeProcess[]> {
  const mapFile = join(opts.dir, 'map.json');
  writeFileSync(mapFile, JSON.stringify({ shape: opts.shape, version: opts.version, physicalToLogical: opts.map }));
  const port = await freePort();
  const bridges = Array.from({ length: opts.shape.numRanks }, (_, rank) => {
    const socket = join(opts.dir, `rank-${rank}.sock`);
    const proc = spawn(
      '/usr/bin/python3',
      ['-m', 'eplb_bridge', '--rank', String(rank), '--world-size', String(opts.shape.numRanks), '--store', `127.0.0.1:${port}`, '--socket', socket, '--map-file', mapFile, '--weights', opts.weights, '--dtype', opts.dtype ?? 'float16', '--step-ms', String(opts.stepMs ?? 2)],
      { cwd: join(ROOT, 'python'), env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (c: string) => (err = (err + c).slice(-20_000)));
    const exited = new Promise<number | null>((r) =>
      proc.once('exit', (code, signal) => {
        // a bridge that dies mid-test leaves its rank unreachable (ECONNREFUSED at the next prepare):
        // say how it ended and what it last wrote, or the rollout that fails on it is all one sees
        process.stderr.write(`[bridge ${rank}] exited (code ${String(code)}, signal ${String(signal)}); stderr tail:\n${err.slice(-4000)}\n`);
        r(code);
      }),
    );
    const ready = new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.setEncoding('utf8');
      proc.stdout!.on('data', (c: string) => {
        out += c;
        if (out.split('\n').some((l) => l.includes('"ready": true'))) resolve();
      });
      void exited.then((code) => reject(new Error(`bridge of rank ${rank} exited (${String(code)}) before it was ready: ${err.slice(-2000)}`)));
    });
    return { bridge: { rank, socket, proc, exited, stderr: () => err }, ready };
  });
  const timeout = opts.timeoutMs ?? 150_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(bridges.map((b) => b.ready)),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`bridges not ready within ${timeout} ms`)), timeout))),
    ]);
  } catch (e) {
    await stopBridges(bridges.map((b) => b.bridge));
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return bridges.map((b) => b.bridge);
}

/** Stops the bridges (SIGTERM, then SIGKILL for one that does not exit). */
export async function stopBridges(bridges: readonly BridgeProcess[]): Promise<void> {
  await Promise.all(
    bridges.map(async (b) => {
      if (b.proc.exitCode !== null || b.proc.signalCode !== null) return;
      b.proc.kill('SIGTERM');
      const t = setTimeout(() => b.proc.kill('SIGKILL'), 5_000);
      await b.exited;
      clearTimeout(t);
    }),
  );
}
