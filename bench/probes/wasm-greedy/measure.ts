/**
 * The WebAssembly greedy probe, measured: plan-wasm.cjs (greedy planning in greedy.wasm) against
 * `eplb plan --policy greedy` (the build) and baseline.py, on plan-speed.bench.ts's two files (the
 * 232-layer speed file and the tiny one), as whole cold processes — interleaved rounds, the order
 * rotating within a round, after one unmeasured round; medians of wall and CPU (GNU time) — and
 * each warm: one process planning the big file WARM times, the median of its last 5 rounds.
 * Checks first that plan-wasm.cjs writes the CLI's plan file byte for byte on both files, with
 * and without --wasm-reader (measured cold too).
 *
 *   node -r @swc-node/register bench/probes/wasm-greedy/measure.ts   (WASM_PROBE_ROUNDS, default 9)
 *
 * Prints a Markdown table and the figures as one JSON line; writes nothing else.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { into, median, side, Side, speedInputs, timedProcess } from '../../lib/cold-process';
import { machine } from '../../lib/machine';

const TRACES = process.env.EPLB_TRACES ?? '/work/shared/traces';
const TOOLS = process.env.EPLB_TOOLS ?? '/work/shared/tools';
const HERE = __dirname;
const CLI = join(HERE, '..', '..', '..', 'dist', 'apps', 'eplb', 'src', 'main.js');
const ROUNDS = Number(process.env.WASM_PROBE_ROUNDS ?? 9);
const WARM = 10;


/** The median of a warm process's last 5 rounds (its `{"ms": [...]}` line). */
const lastFive = (out: string): number => median((JSON.parse(out.trim().split('\n').pop() as string) as { ms: number[] }).ms.slice(-5));

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'eplb-wasm-probe-'));
  const { big, tiny } = speedInputs(dir, TRACES);
  const wasm = (file: string, ...more: string[]) => timedProcess('node', [join(HERE, 'plan-wasm.cjs'), '--input', file, '--output', join(dir, 'wasm.json'), ...more]);
  const greedy = (file: string) => timedProcess('node', [CLI, 'plan', '--policy', 'greedy', '--input', file, '--output', join(dir, 'greedy.json')]);
  const py = (file: string) => timedProcess('/usr/bin/python3', [join(TOOLS, 'baseline.py'), file, join(dir, 'py.json')]);
  for (const file of [big, tiny]) {
    greedy(file);
    for (const more of [[], ['--wasm-reader']]) {
      wasm(file, ...more);
      if (!readFileSync(join(dir, 'wasm.json')).equals(readFileSync(join(dir, 'greedy.json')))) {
        throw new Error(`${file}: plan-wasm.cjs ${more.join(' ')} writes another plan than eplb plan --policy greedy`);
      }
    }
  }
  py(big);
  const load0 = loadavg();
  const rb = side(), rt = side();
  const wb = side(), wt = side(), gb = side(), gt = side(), pb = side(), pt = side();
  const warm = { wasm: [] as number[], greedy: [] as number[], py: [] as number[] };
  const steps: (() => void)[] = [
    () => into(wb, wasm(big)),
    () => into(wt, wasm(tiny)),
    () => into(rb, wasm(big, '--wasm-reader')),
    () => into(rt, wasm(tiny, '--wasm-reader')),
    () => into(gb, greedy(big)),
    () => into(gt, greedy(tiny)),
    () => into(pb, py(big)),
    () => into(pt, py(tiny)),
    () => warm.wasm.push(lastFive(wasm(big, '--warm', String(WARM)).out)),
    () => warm.greedy.push(lastFive(timedProcess('node', [join(HERE, 'warm-cli.cjs'), '--input', big, '--output', join(dir, 'greedy.json'), '--warm', String(WARM)]).out)),
    () => warm.py.push(lastFive(timedProcess('/usr/bin/python3', [join(HERE, 'warm-baseline.py'), join(TOOLS, 'baseline.py'), big, join(dir, 'py.json'), String(WARM)]).out)),
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < steps.length; i++) steps[(round + i) % steps.length]();
  }
  const load1 = loadavg();
  const beyond = (a: Side, b: Side, m: keyof Side): number => median(a[m]) - median(b[m]);
  const fmt = (x: number): string => x.toFixed(0);
  const pyWall = beyond(pb, pt, 'wall'), pyCpu = beyond(pb, pt, 'cpu'), pyWarm = median(warm.py);
  const row = (name: string, a: Side, b: Side, w?: number[]): string =>
    `| ${name} | ${fmt(median(a.wall))} | ${fmt(median(b.wall))} | **${fmt(beyond(a, b, 'wall'))}** | ${(beyond(a, b, 'wall') / pyWall).toFixed(2)} | ` +
    `${fmt(median(a.cpu))} | ${fmt(median(b.cpu))} | ${fmt(beyond(a, b, 'cpu'))} | ${(beyond(a, b, 'cpu') / pyCpu).toFixed(2)} | ${w ? fmt(median(w)) : ''} | ${w ? (median(w) / pyWarm).toFixed(2) : ''} |`;
  const body = [
    `Machine: ${machine()}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after. ` +
      `${ROUNDS} interleaved rounds (order rotating) after one unmeasured run of each; medians. Warm: one process plans the big file ${WARM} times ` +
      '(read + plan + write), the median of its last 5, then the median over the rounds.',
    '',
    '| | big file | tiny file | beyond the tiny file | ÷ baseline.py | CPU big | CPU tiny | CPU beyond | ÷ baseline.py | warm, per plan | ÷ baseline.py |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('wasm greedy (plan-wasm.cjs)', wb, wt, warm.wasm),
    row('wasm greedy, heat read in wasm too (plan-wasm.cjs --wasm-reader)', rb, rt),
    row('eplb plan --policy greedy (the build)', gb, gt, warm.greedy),
    row('python3 baseline.py', pb, pt, warm.py),
  ].join('\n');
  process.stdout.write(`${body}\n`);
  const fig = (a: Side, b: Side, w: number[]) => ({
    beyondMs: Number(beyond(a, b, 'wall').toFixed(1)),
    beyondCpuMs: Number(beyond(a, b, 'cpu').toFixed(1)),
    warmMs: w.length ? Number(median(w).toFixed(1)) : null,
  });
  process.stdout.write(`${JSON.stringify({ wasm: fig(wb, wt, warm.wasm), wasmReader: fig(rb, rt, []), greedy: fig(gb, gt, warm.greedy), baseline: fig(pb, pt, warm.py) })}\n`);
}

main();
