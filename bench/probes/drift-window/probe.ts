/**
 * Probe (not a bench of record): why default misses the drift target (≤ 60% of our greedy's
 * excess) on bench:policy-heldout's router-drift-episodes cuts of 8 episodes but meets it on those
 * of 16. Same draws as that set (8 shapes, seeds 7013/7229/7481/7717, map = our greedy on the
 * interval before). Per window length, the mean excess against our greedy and transfer share of:
 * default; default with its drift path off (driftRatio 0); every layer planned for the drift
 * forecast with no check and no budget (planForDrift, as default's drift path plans it); and how
 * many layers pass the drift-ratio test (> 10) and how many default's drift path moved (its row
 * differs from the drift-off run's); and our greedy planned on the next window itself, what no
 * forecast can beat by much (it sees the window it is judged on).
 *
 *   node -r @swc-node/register bench/probes/drift-window/probe.ts
 */
import { DeploymentShape, HeatEpisodes, PolicyInput, getPolicy, layerTransfers, meanEpisodeImbalance } from '@eplb/domain';
import { driftRatio, planForDrift } from '../../../libs/domain/src/policy/drift';
import { excessOver, transferShare } from '../../lib/policy-judge';
import { GEN_SHAPES } from '../../traces/variants';
import { Gen, draw, shapeOf } from '../../traces/windows';

const SHAPES: Record<string, Gen> = { ...GEN_SHAPES, '64x16x5': { E: 64, R: 16, S: 5, L: 8, topK: 6 }, '128x8x20': { E: 128, R: 8, S: 20, L: 16, topK: 8 } };
const SEEDS = [7013, 7229, 7481, 7717];
const LAMBDA = 0.0004; // default's transfer cost

const judge = (shape: DeploymentShape, map: number[][], current: number[][], future: HeatEpisodes): { fut: number; tr: number } => ({
  fut: meanEpisodeImbalance(map, future, shape.numRanks, shape.slotsPerRank),
  tr: map.reduce((s, row, l) => s + layerTransfers(current[l], row, shape.slotsPerRank), 0),
});

function main(): void {
  const rows: string[] = ['| episodes | cuts | default excess / share | drift path off | forecast every layer, no check or budget | greedy on the next window itself (no transfer bound) | layers ratio > 10 | layers moved by the drift path | cuts met (default) |', '|---|---:|---|---|---|---|---|---|---|'];
  for (const n of [16, 8]) {
    const acc = { d: [] as number[], dS: [] as number[], off: [] as number[], offS: [] as number[], all: [] as number[], allS: [] as number[], own: [] as number[], ratio: 0, fired: 0, layers: 0, met: 0 };
    for (const g of Object.values(SHAPES)) {
      const shape = shapeOf(g);
      for (const seed of SEEDS) {
        const [before, heat, future] = draw(g, ['drift'], seed, n);
        const current = getPolicy('greedy')({ shape, heat: before }).physicalToLogical;
        const input: PolicyInput = { shape, heat, current };
        const gr = judge(shape, getPolicy('greedy')(input).physicalToLogical, current, future);
        const dMap = getPolicy('default')(input).physicalToLogical;
        const offMap = getPolicy('default')({ ...input, options: { driftRatio: 0 } }).physicalToLogical;
        const allMap = current.map((row, l) => Array.from(planForDrift(heat, l, heat.length, shape.numRanks, shape.slotsPerRank, row, { shots: 4, penalty: 0.05, lambda: LAMBDA })));
        const d = judge(shape, dMap, current, future), off = judge(shape, offMap, current, future), all = judge(shape, allMap, current, future);
        acc.d.push(excessOver(d.fut, gr.fut)); acc.dS.push(transferShare(d.tr, gr.tr));
        acc.off.push(excessOver(off.fut, gr.fut)); acc.offS.push(transferShare(off.tr, gr.tr));
        acc.all.push(excessOver(all.fut, gr.fut)); acc.allS.push(transferShare(all.tr, gr.tr));
        acc.own.push(excessOver(judge(shape, getPolicy('greedy')({ shape, heat: future }).physicalToLogical, current, future).fut, gr.fut));
        if (excessOver(d.fut, gr.fut) <= 0.6 && d.tr <= gr.tr / 3) acc.met++;
        for (let l = 0; l < g.L; l++) {
          acc.layers++;
          if (driftRatio(heat, l) > 10) acc.ratio++;
          if (dMap[l].some((x, p) => x !== offMap[l][p])) acc.fired++;
        }
      }
    }
    const mean = (xs: number[]): string => `${((xs.reduce((s, x) => s + x, 0) / xs.length) * 100).toFixed(1)}%`;
    rows.push(`| ${n} | ${acc.d.length} | ${mean(acc.d)} / ${mean(acc.dS)} | ${mean(acc.off)} / ${mean(acc.offS)} | ${mean(acc.all)} / ${mean(acc.allS)} | ${mean(acc.own)} | ${acc.ratio} of ${acc.layers} | ${acc.fired} | ${acc.met} |`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main();
