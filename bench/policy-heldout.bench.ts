/**
 * The default policy on held-back cuts (`npm run bench:policy-heldout`): windows of the real and
 * generated loads that bench:policy does not judge on, built in memory with seeds bench:policy and
 * bench/traces do not use, each judged on its next window as bench:policy judges (bench/lib/policy-judge.ts)
 * and classified by the targets of its kind:
 * - same traffic (the traffic the map in service was made for): never worse than that map on the
 *   next window, at most 5% of our greedy's transfers; an alarm is any layer moved;
 * - a shift (new traffic): excess at most 100% of our greedy's, at most a third of its transfers;
 * - drift, alternating, spikes (the router model's traffic that moves on): excess at most 60%, 40%
 *   and 100% of our greedy's, at most a third of its transfers.
 * Sets: real Qwen1.5-MoE iterations (/work/shared/traces/real: `wmt19` and `bookcorpus`, 20
 * iterations each) cut into summed windows of 2–10 iterations; the router model's stationary and
 * shifted traffic as one summed window on 8 shapes; the three DeepSeek-V3 prefill workloads on 3
 * engine shapes; partial shifts (k of 12 Qwen layers' map already fitted to the new traffic); and
 * a synthetic wander grid (the stale-map spec's zipf model, libs/domain zipf-windows.ts). The
 * `-episodes` sets are the Qwen and router cuts with the seen window's episodes kept apart (windows
 * of at least 4), which the policy judges with its held-out test rather than its one-window rule;
 * with them, the router model's drifting, alternating and spiking traffic on the same 8 shapes
 * (windows of 16 or 8 episodes kept apart, seeds of their own), which bench:policy judges on one
 * draw per shape only.
 * Writes its section of bench/RESULTS.md (other sections are left alone); the last line printed is
 * one JSON object summarising each set. `BENCH_HELDOUT_ONLY=<regexp>` judges only the sets whose
 * name matches, prints, and leaves bench/RESULTS.md alone. `BENCH_HELDOUT_PER_CUT=<file>` also
 * writes each cut's judgement there (JSON), for a paired comparison of two builds of the policy
 * (bench/probes/multi-episode-shift/paired.ts).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PolicyResult, getPolicy } from '@eplb/domain';
import { CutKind, EXCESS_TARGET, Judged, PerCut, excessOver, inServiceFuture, judgeResult, meetsKind, transferShare } from './lib/policy-judge';
import { Cut, CutSet, Input, SETS, WANDERS, WANDER_LAYERS, WANDER_SEEDS, wanderSet } from './lib/heldout-cuts';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const SECTION = 'Policy on held-back cuts (`npm run bench:policy-heldout`)';
const ONLY = process.env.BENCH_HELDOUT_ONLY ? new RegExp(process.env.BENCH_HELDOUT_ONLY) : null;
const PER_CUT = process.env.BENCH_HELDOUT_PER_CUT ?? null;

interface Judgement {
  readonly cut: Cut;
  readonly inService: number;
  readonly d: Judged;
  readonly g: Judged;
}

/** Each input's plans, made once (several cuts share an input and differ only in the next window). */
const plans = new WeakMap<Input, { d: PolicyResult; dMs: number; g: PolicyResult; gMs: number }>();
function judgeCut(cut: Cut): Judgement {
  let p = plans.get(cut.input);
  if (!p) {
    const t0 = performance.now();
    const d = getPolicy('default')(cut.input);
    const t1 = performance.now();
    const g = getPolicy('greedy')(cut.input);
    p = { d, dMs: t1 - t0, g, gMs: performance.now() - t1 };
    plans.set(cut.input, p);
  }
  return {
    cut,
    inService: inServiceFuture(cut.input, cut.future),
    d: judgeResult(p.d, p.dMs, cut.input, cut.future),
    g: judgeResult(p.g, p.gMs, cut.input, cut.future),
  };
}

/** Whether a cut meets the target of its kind (see the header). */
const meets = (kind: CutKind, j: Judgement): boolean => meetsKind(kind, j.d, j.g, j.inService);

interface Tally {
  readonly kind: CutKind;
  readonly cuts: number;
  /** Cuts with any layer moved. */
  readonly alarms: number;
  /** Cuts with every layer moved. */
  readonly allMoved: number;
  readonly over5: number;
  readonly worseNext: number;
  readonly meanExcess: number;
  readonly maxExcess: number;
  readonly meanShare: number;
  readonly met: number;
}

function tally(kind: CutKind, js: readonly Judgement[]): Tally {
  const ex = js.map((j) => excessOver(j.d.fut, j.g.fut)).filter(Number.isFinite);
  const share = js.map((j) => transferShare(j.d.transfers, j.g.transfers)).filter(Number.isFinite);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
  return {
    kind,
    cuts: js.length,
    alarms: js.filter((j) => j.d.layersMoved > 0).length,
    allMoved: js.filter((j) => j.d.layersMoved === j.cut.input.shape.numLayers).length,
    over5: js.filter((j) => j.d.transfers > 0.05 * j.g.transfers).length,
    worseNext: js.filter((j) => j.d.fut > j.inService + 1e-9).length,
    meanExcess: mean(ex),
    maxExcess: ex.length ? Math.max(...ex) : NaN,
    meanShare: mean(share),
    met: js.filter((j) => meets(kind, j)).length,
  };
}

const perCutOf = (set: CutSet, j: Judgement): PerCut => ({
  set: set.name,
  kind: set.kind,
  cut: j.cut.name,
  inService: j.inService,
  fut: j.d.fut,
  transfers: j.d.transfers,
  greedyFut: j.g.fut,
  greedyTransfers: j.g.transfers,
  met: meets(set.kind, j),
});

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');

/** One line per cut that misses its target: what default did and how it fared next. */
const missLine = (kind: CutKind, j: Judgement): string =>
  `  - ${j.cut.name}: ${j.d.layersMoved} of ${j.cut.input.shape.numLayers} layers moved, ${j.d.transfers} transfers ` +
  `(${pct(transferShare(j.d.transfers, j.g.transfers))} of greedy's); next ${j.d.fut.toFixed(4)} vs in service ${j.inService.toFixed(4)}` +
  (kind !== 'same' ? `, greedy ${j.g.fut.toFixed(4)} (excess ${pct(excessOver(j.d.fut, j.g.fut))})` : '');

function main(): void {
  const t0 = performance.now();
  const sets = ONLY ? SETS.filter((s) => ONLY.test(s.name)) : SETS;
  const tallies: Record<string, Tally> = {};
  const rows: string[] = [];
  const misses: string[] = [];
  const perCut: PerCut[] = [];
  for (const set of sets) {
    const js = set.cuts().map(judgeCut);
    if (PER_CUT) perCut.push(...js.map((j) => perCutOf(set, j)));
    const t = (tallies[set.name] = tally(set.kind, js));
    const missed = js.filter((j) => !meets(set.kind, j));
    if (!set.name.startsWith('wander-')) {
      rows.push(
        `| ${set.name} | ${set.about} | ${set.kind} | ${t.cuts} | ${t.alarms} (${t.allMoved} all layers) | ${t.over5} | ${t.worseNext} | ` +
          `${pct(t.meanExcess)} / ${pct(t.maxExcess)} | ${pct(t.meanShare)} | ${t.met} of ${t.cuts} (${pct(t.met / t.cuts)}) |`,
      );
      if (missed.length > 0) misses.push(`- ${set.name}, ${missed.length} missed:`, ...missed.slice(0, 12).map((j) => missLine(set.kind, j)), ...(missed.length > 12 ? [`  - … ${missed.length - 12} more`] : []));
    }
    process.stderr.write(`${set.name}: ${t.cuts} cuts, ${t.met} met\n`);
  }
  const grid = WANDER_LAYERS.filter((L) => WANDERS.some((w) => tallies[wanderSet(L, w).name])).map(
    (L) =>
      `| ${L} | ${WANDERS.map((w) => {
        const t = tallies[wanderSet(L, w).name];
        return t ? `${t.alarms} (${t.worseNext} worse, max ${pct(t.maxExcess)})` : '-';
      }).join(' | ')} |`,
  );
  const seconds = (performance.now() - t0) / 1000;
  const body = [
    `Command: \`npm run bench:policy-heldout\` (bench/policy-heldout.bench.ts). Machine: ${machine()}; run took ${seconds.toFixed(0)} s ` +
      `(load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' / ')}). Every figure is a decision of the policies, which is ` +
      'deterministic: the load does not move it (only the run time).',
    '',
    'Cuts of loads bench:policy does not judge on, each judged on its next window as bench:policy judges (bench/lib/policy-judge.ts). ' +
      'Kind same (the traffic the map in service was made for): target = never worse than that map next AND ≤ 5% of our greedy\'s transfers; ' +
      'an alarm is a cut where default moved any layer. Kind shift (new traffic): target = excess ≤ 100% of our greedy\'s AND ≤ 1/3 of its ' +
      `transfers; kinds drift, alternating and spikes the same with excess ≤ ${EXCESS_TARGET.drift * 100}%, ${EXCESS_TARGET.alternating * 100}% and ${EXCESS_TARGET.spikes * 100}%. ` +
      'excess = (default − 1) / (greedy − 1) on the next window; transfers share = default\'s / greedy\'s.',
    '',
    '| set | cuts of | kind | cuts | alarms | over 5% of greedy\'s transfers | worse next than in service | excess vs greedy mean / max | transfers share mean | target met |',
    '|---|---|---|---:|---|---:|---:|---|---:|---|',
    ...rows,
    '',
    ...(misses.length ? ['Cuts that miss their target (at most 12 a set):', '', ...misses, ''] : []),
    ...(grid.length
      ? [
          `Synthetic wander (libs/domain zipf-windows.ts, the stale-map spec's model: 64 experts on 8 ranks × 10 slots, 320 000 picks for the hottest, ` +
            `each window's levels wander uniformly ±w about the workload's; the map = our greedy on one window, seen a second, judged on a third; ` +
            `seeds ${WANDER_SEEDS[0]}–${WANDER_SEEDS[WANDER_SEEDS.length - 1]}): alarms of ${WANDER_SEEDS.length} (cuts worse next than in service, worst excess vs greedy)`,
          '',
          `| layers | ${WANDERS.map((w) => `±${Math.round(w * 100)}%`).join(' | ')} |`,
          `|---|${WANDERS.map(() => '---').join('|')}|`,
          ...grid,
          '',
        ]
      : []),
  ].join('\n');
  process.stdout.write(`${body}\n`);
  if (!ONLY) writeSection(SECTION, body);
  if (PER_CUT) writeFileSync(PER_CUT, `${JSON.stringify(perCut)}\n`);
  process.stdout.write(`${JSON.stringify({ sets: tallies, seconds: Number(seconds.toFixed(1)) })}\n`);
}

main();
