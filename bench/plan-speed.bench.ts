/**
 * The speed target of `eplb plan` as one process (`npm run bench:plan-speed`): the built CLI (no
 * TypeScript loader) plans 232 DeepSeek-V3 layers (the speed trace's 58 layers four times, 64
 * ranks × 5 slots, 16 episodes) with the default policy; its wall time beyond a tiny file's is
 * compared with baseline.py's (the pure-Python greedy) run the same way. Rounds are interleaved
 * (the order within a round rotates) so both sides see the same load on a shared machine; medians.
 * Writes the section "## Plan speed as one process (`npm run bench:plan-speed`)" of
 * bench/RESULTS.md (not with PLAN_SPEED_NO_WRITE=1); the last line printed is one JSON object with
 * the figures. PLAN_SPEED_ROUNDS sets the rounds (default 11); PLAN_SPEED_AGAINST=PATH/main.js measures
 * an earlier build of the CLI in the same rounds. The same rounds also run `eplb plan --policy greedy`:
 * the least a cold node process planning these layers does (read the file, one greedy per layer), the
 * floor under what any policy of ours can reach as one process.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { into, median, side, Side, speedInputs, timedProcess } from './lib/cold-process';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const TRACES = process.env.EPLB_TRACES ?? '/work/shared/traces';
const TOOLS = process.env.EPLB_TOOLS ?? '/work/shared/tools';
const CLI = join(__dirname, '..', 'dist', 'apps', 'eplb', 'src', 'main.js');
const ROUNDS = Number(process.env.PLAN_SPEED_ROUNDS ?? 11);
const TARGET = 0.5;

function main(): void {
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), 'eplb-plan-speed-'));
  const { big, tiny } = speedInputs(dir, TRACES);
  const load0 = loadavg();
  const eb = side(), et = side(), pb = side(), pt = side();
  const pOwn: number[] = [];
  const eplb = (file: string) => timedProcess('node', [CLI, 'plan', '--input', file, '--output', join(dir, 'out.json')]);
  const gb = side(), gt = side();
  const greedy = (file: string) => timedProcess('node', [CLI, 'plan', '--policy', 'greedy', '--input', file, '--output', join(dir, 'out.json')]);
  const py = (file: string) => timedProcess('/usr/bin/python3', [join(TOOLS, 'baseline.py'), file, join(dir, 'py.json')]);
  // PLAN_SPEED_AGAINST=.../main.js: an earlier build measured in the same rounds (before / after)
  const against = process.env.PLAN_SPEED_AGAINST;
  const ab = side(), at = side();
  const earlier = (file: string) => timedProcess('node', [against as string, 'plan', '--input', file, '--output', join(dir, 'out.json')]);
  const steps: (() => void)[] = [
    () => into(eb, eplb(big)),
    () => into(et, eplb(tiny)),
    ...(against ? [() => into(ab, earlier(big)), () => into(at, earlier(tiny))] : []),
    () => into(gb, greedy(big)),
    () => into(gt, greedy(tiny)),
    () => {
      const r = py(big);
      into(pb, r);
      pOwn.push(parseFloat(r.out));
    },
    () => into(pt, py(tiny)),
  ];
  // one unmeasured round: the page cache holds the files and both interpreters' own
  eplb(big);
  py(big);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < steps.length; i++) steps[(round + i) % steps.length]();
  }
  const load1 = loadavg();
  const beyond = (a: Side, b: Side, m: keyof Side): number => median(a[m]) - median(b[m]);
  const ratio = beyond(eb, et, 'wall') / beyond(pb, pt, 'wall');
  const cpuRatio = beyond(eb, et, 'cpu') / beyond(pb, pt, 'cpu');
  const greedyRatio = beyond(gb, gt, 'wall') / beyond(pb, pt, 'wall');
  const greedyCpuRatio = beyond(gb, gt, 'cpu') / beyond(pb, pt, 'cpu');
  const fmt = (x: number): string => x.toFixed(0);
  const row = (name: string, a: Side, b: Side): string =>
    `| ${name} | ${fmt(median(a.wall))} | ${fmt(median(b.wall))} | **${fmt(beyond(a, b, 'wall'))}** | ${fmt(median(a.cpu))} | ${fmt(median(b.cpu))} | ${fmt(beyond(a, b, 'cpu'))} |`;
  const body = [
    `\`npm run bench:plan-speed\` (bench/plan-speed.bench.ts): \`node dist/apps/eplb/src/main.js plan\`, default policy, on 232 layers ` +
      `(stationary-dsv3-ep64's 58 four times: 64 ranks × 5 slots, 256 experts, 16 episodes, ${(readFileSync(big).length / 1e6).toFixed(1)} MB) ` +
      `and on a tiny file, against \`/usr/bin/python3 ${TOOLS}/baseline.py\` on the same two files. Whole processes, ` +
      `medians of ${ROUNDS} interleaved rounds (the order rotates within a round) after one unmeasured round; wall ms, and CPU ms ` +
      `(user + system of the process and its threads, GNU time: what a loaded machine inflates least).`,
    '',
    `Machine: ${machine()}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after.`,
    '',
    '| | big file | tiny file | beyond the tiny file | CPU big | CPU tiny | CPU beyond |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('eplb plan (node, from the build)', eb, et),
    ...(against ? [row(`eplb plan, earlier build (\`${against}\`)`, ab, at)] : []),
    row('eplb plan --policy greedy (the floor: read, one greedy per layer)', gb, gt),
    row('python3 baseline.py', pb, pt),
    `| baseline.py's own figure (its planning only, JSON excluded) | ${fmt(median(pOwn))} | | | | | |`,
    '',
    `Ratio beyond the tiny file, eplb / baseline.py: wall ${ratio.toFixed(2)} (target ≤ ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'}), ` +
      `CPU ${cpuRatio.toFixed(2)}` +
      (against
        ? `; the earlier build's: wall ${(beyond(ab, at, 'wall') / beyond(pb, pt, 'wall')).toFixed(2)}, CPU ${(beyond(ab, at, 'cpu') / beyond(pb, pt, 'cpu')).toFixed(2)}.`
        : '.'),
    `The floor, our greedy as one process: wall ${greedyRatio.toFixed(2)}, CPU ${greedyCpuRatio.toFixed(2)} of baseline.py's beyond the tiny file.`,
    '',
    'Maps are not changed by speed work: `npm run bench:plan-outputs -- DIR --against EARLIER_DIR` runs every policy on every shared, ' +
      'real and generated trace (and default without a map in service, around a lost rank, on the 232-layer file: 71 plan files) ' +
      'and compares the plan files byte for byte with an earlier build\'s. A cold process pays most of its time beyond the tiny file ' +
      'in the JIT: V8 optimises the search, the stale screen\'s greedy and the heat reader on a background thread, and until it is done ' +
      'the main thread runs them unoptimised — on a loaded machine for far longer, which the wall figures show more than the CPU ones.',
  ].join('\n');
  // PLAN_SPEED_NO_WRITE=1: a trial run that leaves bench/RESULTS.md alone
  if (process.env.PLAN_SPEED_NO_WRITE !== '1') writeSection('Plan speed as one process (`npm run bench:plan-speed`)', body);
  process.stdout.write(`${body}\n`);
  const figures = {
    ratio: Number(ratio.toFixed(3)),
    cpuRatio: Number(cpuRatio.toFixed(3)),
    eplbBeyondMs: Number(beyond(eb, et, 'wall').toFixed(1)),
    baselineBeyondMs: Number(beyond(pb, pt, 'wall').toFixed(1)),
    eplbBeyondCpuMs: Number(beyond(eb, et, 'cpu').toFixed(1)),
    greedyBeyondMs: Number(beyond(gb, gt, 'wall').toFixed(1)),
    greedyBeyondCpuMs: Number(beyond(gb, gt, 'cpu').toFixed(1)),
    baselineBeyondCpuMs: Number(beyond(pb, pt, 'cpu').toFixed(1)),
    eplbBigMs: Number(median(eb.wall).toFixed(1)),
    eplbTinyMs: Number(median(et.wall).toFixed(1)),
    baselineBigMs: Number(median(pb.wall).toFixed(1)),
    baselineTinyMs: Number(median(pt.wall).toFixed(1)),
    baselineOwnMs: Number(median(pOwn).toFixed(1)),
    ...(against
      ? {
          earlierRatio: Number((beyond(ab, at, 'wall') / beyond(pb, pt, 'wall')).toFixed(3)),
          earlierCpuRatio: Number((beyond(ab, at, 'cpu') / beyond(pb, pt, 'cpu')).toFixed(3)),
          earlierBeyondMs: Number(beyond(ab, at, 'wall').toFixed(1)),
          earlierBeyondCpuMs: Number(beyond(ab, at, 'cpu').toFixed(1)),
        }
      : {}),
    rounds: ROUNDS,
    target: TARGET,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main();
