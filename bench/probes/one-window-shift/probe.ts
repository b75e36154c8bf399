/**
 * Probe (not a bench of record): where the default policy's excess on one-window shifts of the
 * real Qwen loads comes from. On cuts of real-qwen-shift (windows of 2–10 summed iterations, as
 * bench:policy-heldout cuts them, every 4th start; judged on the next ≤ 5 iterations) it prints,
 * per cut, the imbalance of greedy, default and flash on the seen window itself (in sample) and
 * on the next one, and the default's excess and transfers against greedy's at transfer budgets
 * of 1/3 (the default's), 1/2 and all of greedy's — does a larger budget let it go further?
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
for (let w = 2; w <= 10; w += 4) {
  for (let a = 0; a + w < its.length; a += 4) {
    const input = { shape: t.shape, heat: summed(its.slice(a, a + w)), current: t.current };
    const next = its.slice(a + w, a + w + 5);
    const plans = { greedy: getPolicy('greedy')(input), default: getPolicy('default')(input), flash: getPolicy('flash')(input) };
    const seen = Object.fromEntries(Object.entries(plans).map(([k, p]) => [k, judgeResult(p, 0, input, input.heat)]));
    const fut = Object.fromEntries(Object.entries(plans).map(([k, p]) => [k, judgeResult(p, 0, input, next)]));
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
