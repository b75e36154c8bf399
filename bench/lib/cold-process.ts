import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the plan-speed benches share: the two heat files a cold `eplb plan` is timed on, and one
 * whole process timed by GNU time — its CPU (user + system of the process and its threads) is what
 * a loaded machine inflates far less than the wall time.
 */

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The speed file (stationary-dsv3-ep64's 58 layers four times: 232) and a tiny one (what start-up alone costs), written into `dir`. */
export function speedInputs(dir: string, traces: string): { big: string; tiny: string } {
  const doc = JSON.parse(readFileSync(join(traces, 'stationary-dsv3-ep64.json'), 'utf8')) as { heat: unknown[][]; current: unknown[] };
  const four = <T>(xs: T[]): T[] => [...xs, ...xs, ...xs, ...xs];
  const big = join(dir, 'speed-232.json'), tiny = join(dir, 'speed-tiny.json');
  writeFileSync(big, JSON.stringify({ ...doc, heat: doc.heat.map(four), current: four(doc.current) }));
  writeFileSync(tiny, JSON.stringify({ num_ranks: 8, num_nodes: 1, slots_per_rank: 2, heat: [[[600, 560, 120, 120, 20, 10, 10, 10]]] }));
  return { big, tiny };
}

/** One whole process under GNU time: wall ms, CPU ms (user + system), stdout. */
export function timedProcess(cmd: string, args: string[]): { ms: number; cpu: number; out: string } {
  const t0 = now();
  const res = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', cmd, ...args], { encoding: 'utf8' });
  const ms = now() - t0;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${res.status}: ${res.stderr}`);
  const m = /cpu (\S+) (\S+)\s*$/.exec(res.stderr);
  if (!m) throw new Error(`no CPU time from /usr/bin/time: ${res.stderr}`);
  return { ms, cpu: (Number(m[1]) + Number(m[2])) * 1000, out: res.stdout };
}

/** One kind of run's figures over the rounds. */
export interface Side {
  readonly wall: number[];
  readonly cpu: number[];
}

export const side = (): Side => ({ wall: [], cpu: [] });

export const into = (s: Side, r: { ms: number; cpu: number }): void => {
  s.wall.push(r.ms);
  s.cpu.push(r.cpu);
};
