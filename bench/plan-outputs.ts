/**
 * Same maps before and after a change to the planners' speed (`npm run bench:plan-outputs -- OUT
 * [--against DIR] [--cli PATH]`): runs the built `eplb plan` (default: this checkout's
 * dist/apps/eplb/src/main.js) with every policy on every trace in ../shared/traces,
 * ../shared/traces/real and bench/traces, and default also without a map in service, around one
 * lost rank and on the speed file (the dsv3-ep64 trace's 58 layers four times), writing each plan
 * file into OUT. With --against DIR (the same run on an earlier build) it names every plan file
 * whose text differs and exits 1 if any does. Plan files carry the maps and every layer report,
 * so identical files mean identical decisions and figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { policyNames } from '@eplb/domain';

const TRACES = process.env.EPLB_TRACES ?? '/work/shared/traces';
const DIRS = [TRACES, join(TRACES, 'real'), join(__dirname, 'traces')];

interface Run {
  readonly name: string;
  readonly input: string;
  readonly args: string[];
}

function traceFiles(): string[] {
  return DIRS.filter(existsSync).flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.json') && !f.endsWith('.future.json'))
      .sort()
      .map((f) => join(d, f)),
  );
}

/** Derived inputs written into `dir`: a trace without its map in service, and the speed file. */
function derived(file: string, dir: string): Run[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { num_ranks: number; heat: unknown[][]; current?: unknown[] };
  const base = file.slice(file.lastIndexOf('/') + 1, -'.json'.length);
  const runs: Run[] = [];
  if (doc.current) {
    const fresh = join(dir, `${base}.no-current.input.json`);
    writeFileSync(fresh, JSON.stringify({ ...doc, current: undefined }));
    runs.push({ name: `${base}.no-current.default`, input: fresh, args: [] });
    if (doc.num_ranks > 2) runs.push({ name: `${base}.exclude-1.default`, input: file, args: ['--exclude-ranks', '1'] });
  }
  if (base === 'stationary-dsv3-ep64' && doc.current) {
    const big = join(dir, 'speed-232.input.json');
    const four = <T>(xs: T[]): T[] => [...xs, ...xs, ...xs, ...xs];
    writeFileSync(big, JSON.stringify({ ...doc, heat: doc.heat.map(four), current: four(doc.current) }));
    runs.push({ name: 'speed-232.default', input: big, args: [] });
  }
  return runs;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { against: { type: 'string' }, cli: { type: 'string' } },
  });
  const out = positionals[0];
  if (!out) throw new Error('usage: plan-outputs.ts OUT [--against DIR] [--cli PATH]');
  const cli = resolve(values.cli ?? join(__dirname, '..', 'dist', 'apps', 'eplb', 'src', 'main.js'));
  mkdirSync(out, { recursive: true });
  const runs: Run[] = [];
  for (const file of traceFiles()) {
    const base = file.slice(file.lastIndexOf('/') + 1, -'.json'.length);
    for (const p of policyNames()) runs.push({ name: `${base}.${p}`, input: file, args: ['--policy', p] });
    runs.push(...derived(file, out));
  }
  const differ: string[] = [];
  for (const run of runs) {
    const plan = join(out, `${run.name}.plan.json`);
    execFileSync('node', [cli, 'plan', '--input', run.input, '--output', plan, '--expert-bytes', '1000', ...run.args], { stdio: 'inherit' });
    if (values.against) {
      const before = join(values.against, `${run.name}.plan.json`);
      const same = existsSync(before) && readFileSync(before, 'utf8') === readFileSync(plan, 'utf8');
      if (!same) differ.push(run.name);
    }
    process.stdout.write(`${run.name}${values.against ? (differ.at(-1) === run.name ? ' DIFFERS' : ' same') : ''}\n`);
  }
  if (values.against) {
    process.stdout.write(differ.length ? `${differ.length} of ${runs.length} plan files differ: ${differ.join(', ')}\n` : `all ${runs.length} plan files identical\n`);
    process.exitCode = differ.length ? 1 : 0;
  }
}

main();
