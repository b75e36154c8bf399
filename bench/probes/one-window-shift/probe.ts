/**
 * Probe (not a bench of record): where the default policy's excess on one-window shifts of the
 * real Qwen loads comes from. On cuts of real-qwen-shift (windows of 2–10 summed iterations, as
 * bench:policy-heldout cuts them, every 4th start; judged on the next ≤ 5 iterations) it prints,
 * per cut, the imbalance of greedy, default and flash on the seen window itself (in sample) and
 * on the next one, and the default's excess and transfers against greedy's at transfer budgets
 * of 1/3 (the default's), 1/2 and all of greedy's — does a larger budget let it go further? And
 * how exposed each plan's ranks are to the traffic's wandering: the sd over ranks of each rank's
 * load change from the seen window to the next, and the share of a rank's load its largest
 * replica carries (both in units of the mean rank load, per layer, averaged); and how the
 * default's replica counts differ from greedy's (hot experts — per-replica load above the mean —
 * left with fewer replicas, cold ones kept with more).
 *
 *   node -r @swc-node/register bench/probes/one-window-shift/probe.ts
 */
import { HeatEpisodes, getPolicy } from '@eplb/domain';
import { judgeResult } from '../../lib/policy-judge';
import { readReal, summed } from '../../traces/windows';

const t = readReal('real-qwen-shift');
const its: HeatEpisodes = [...t.heat, ...t.future];
const budgets = [1 / 3, 1 / 2, 1];
const byBudget = budgets.map(() => ({ excess: 0, share: 0 }));
const mean = { defaultIn: 0, defaultNext: 0, flashIn: 0, flashNext: 0 };
let n = 0;
const excess = (x: number, y: number): number => (x - 1) / (y - 1);
const { numRanks: R, slotsPerRank: S } = t.shape;
const exposure: Record<string, { change: number; largest: number; n: number }> = {};

/** Per rank: its load (mean rank load 1) and the load of its largest replica, on one layer's heat. */
function rankLoads(row: ArrayLike<number>, h: ArrayLike<number>): { load: number[]; largest: number[] } {
  const reps = new Map<number, number>();
  for (let p = 0; p < R * S; p++) reps.set(row[p], (reps.get(row[p]) ?? 0) + 1);
  const load = new Array<number>(R).fill(0), largest = new Array<number>(R).fill(0);
  let total = 0;
  for (let p = 0; p < R * S; p++) {
    const v = h[row[p]] / reps.get(row[p])!;
    const r = Math.floor(p / S);
    load[r] += v;
    largest[r] = Math.max(largest[r], v);
    total += v;
  }
  return { load: load.map((x) => (x * R) / total), largest: largest.map((x) => (x * R) / total) };
}

const counts = { differ: 0, hotShort: 0, coldMore: 0, layers: 0 };

/** Per layer, the default's replica counts against greedy's on the seen window. */
function addCounts(d: number[][], g: number[][], seen: HeatEpisodes): void {
  const E = t.shape.numExperts;
  for (let l = 0; l < t.shape.numLayers; l++) {
    const cd = new Array<number>(E).fill(0), cg = new Array<number>(E).fill(0);
    for (let p = 0; p < R * S; p++) {
      cd[d[l][p]]++;
      cg[g[l][p]]++;
    }
    const h = seen[0][l];
    const meanReplica = h.reduce((a, x) => a + x, 0) / (R * S);
    for (let e = 0; e < E; e++) {
      if (cd[e] !== cg[e]) counts.differ++;
      if (h[e] / cg[e] > meanReplica && cd[e] < cg[e]) counts.hotShort++;
      if (h[e] / cg[e] <= meanReplica && cd[e] > cg[e]) counts.coldMore++;
    }
    counts.layers++;
  }
}

function addExposure(name: string, map: number[][], seen: HeatEpisodes, next: HeatEpisodes): void {
  const e = (exposure[name] ??= { change: 0, largest: 0, n: 0 });
  for (let l = 0; l < t.shape.numLayers; l++) {
    const a = rankLoads(map[l], seen[0][l]), b = rankLoads(map[l], next[0][l]);
    const d = b.load.map((x, r) => x - a.load[r]);
    const m = d.reduce((p, q) => p + q, 0) / R;
    e.change += Math.sqrt(d.reduce((p, q) => p + (q - m) ** 2, 0) / R);
    e.largest += a.largest.reduce((p, x, r) => p + x / a.load[r], 0) / R;
    e.n++;
  }
}
for (let w = 2; w <= 10; w += 4) {
  for (let a = 0; a + w < its.length; a += 4) {
    const input = { shape: t.shape, heat: summed(its.slice(a, a + w)), current: t.current };
    const next = its.slice(a + w, a + w + 5);
    const plans = { greedy: getPolicy('greedy')(input), default: getPolicy('default')(input), flash: getPolicy('flash')(input) };
    const seen = Object.fromEntries(Object.entries(plans).map(([k, p]) => [k, judgeResult(p, 0, input, input.heat)]));
    const fut = Object.fromEntries(Object.entries(plans).map(([k, p]) => [k, judgeResult(p, 0, input, next)]));
    for (const [name, p] of Object.entries(plans)) addExposure(name, p.physicalToLogical, input.heat, summed(next));
    addCounts(plans.default.physicalToLogical, plans.greedy.physicalToLogical, input.heat);
    n++;
    mean.defaultIn += excess(seen.default.fut, seen.greedy.fut);
    mean.defaultNext += excess(fut.default.fut, fut.greedy.fut);
    mean.flashIn += excess(seen.flash.fut, seen.greedy.fut);
    mean.flashNext += excess(fut.flash.fut, fut.greedy.fut);
    budgets.forEach((b, i) => {
      const d = judgeResult(getPolicy('default')({ ...input, options: { transferBudget: b } }), 0, input, next);
      byBudget[i].excess += excess(d.fut, fut.greedy.fut);
      byBudget[i].share += d.transfers / fut.greedy.transfers;
    });
    console.log(
      `iterations ${a}–${a + w - 1} → next: in sample greedy ${seen.greedy.fut.toFixed(4)} default ${seen.default.fut.toFixed(4)} flash ${seen.flash.fut.toFixed(4)}` +
        ` | next greedy ${fut.greedy.fut.toFixed(4)} default ${fut.default.fut.toFixed(4)} flash ${fut.flash.fut.toFixed(4)}` +
        ` | transfers of greedy's: default ${(fut.default.transfers / fut.greedy.transfers).toFixed(2)}, flash ${(fut.flash.transfers / fut.greedy.transfers).toFixed(2)}`,
    );
  }
}
const pct = (x: number): string => `${((100 * x) / n).toFixed(1)}%`;
console.log(`${n} cuts; excess vs greedy, mean: default in sample ${pct(mean.defaultIn)}, next ${pct(mean.defaultNext)}; flash in sample ${pct(mean.flashIn)}, next ${pct(mean.flashNext)}`);
budgets.forEach((b, i) => console.log(`transfer budget ${b.toFixed(2)} of greedy's: default's excess ${pct(byBudget[i].excess)}, transfers ${pct(byBudget[i].share)} of greedy's`));
for (const [name, e] of Object.entries(exposure)) {
  console.log(`${name}: sd over ranks of the load change seen → next ${(e.change / e.n).toFixed(4)}, largest replica's share of its rank ${(e.largest / e.n).toFixed(3)}`);
}
const per = (x: number): string => (x / counts.layers).toFixed(1);
console.log(`replica counts, default against greedy, per layer of ${t.shape.numExperts} experts: ${per(counts.differ)} differ; ${per(counts.hotShort)} hot experts with fewer replicas, ${per(counts.coldMore)} cold ones with more`);
