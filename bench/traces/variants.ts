/**
 * Our own variants of the policy traces, made in memory by bench:policy (nothing here is tuned to
 * a policy; every variant is a new draw or a new cut of data the policies have not been fitted
 * on). Three families, labelled by what they are:
 * - "(real, cut)": other windows of the real measured loads in /work/shared/traces/real — other
 *   seen/next splits of the Qwen iterations (the first half of the seen window judged on its second
 *   half; the next window split the same way; the whole seen window as ONE summed window), the
 *   DeepSeek-V3 prefill shift the other way round (512 seen, 2048 next) and the same loads on
 *   another engine shape (64 ranks × 5 slots, map in service planned by our greedy on the 4096
 *   window, the one the shared file's map was planned on);
 * - "(generated)": the repo's seeded router model (libs/domain/src/simulation/router-model.ts) on
 *   other shapes and seeds than bench/traces: a workload shift (the map in service planned on one
 *   seed's hot set, the traffic from another's), drift, alternation, spikes and stationary heat,
 *   and a shift seen as one summed window.
 * Each variant has a kind (the targets it is judged by) in its name: shift, drift, alternating,
 * spikes, stationary, same, fit (one window judged on itself).
 */
import { DeploymentShape, HeatEpisodes, getPolicy } from '@eplb/domain';
import { Gen, draw, readReal, shapeOf, summed } from './windows';

export interface Variant {
  readonly name: string;
  readonly shape: DeploymentShape;
  readonly heat: HeatEpisodes;
  readonly current: number[][];
  readonly future: HeatEpisodes;
}

export function realCuts(): Variant[] {
  const out: Variant[] = [];
  for (const [file, kind] of [['real-qwen-shift', 'shift'], ['real-qwen-same', 'same']] as const) {
    const t = readReal(file);
    const K = t.heat.length, h = K >> 1, F = t.future.length, hf = F >> 1;
    const stem = file.replace('real-', '').replace(`-${kind}`, '');
    out.push({ name: `${stem}-${kind}-early`, shape: t.shape, heat: t.heat.slice(0, h), current: t.current, future: t.heat.slice(h) });
    out.push({ name: `${stem}-${kind}-late`, shape: t.shape, heat: t.future.slice(0, hf), current: t.current, future: t.future.slice(hf) });
    out.push({ name: `${stem}-${kind}-onewindow`, shape: t.shape, heat: summed(t.heat), current: t.current, future: t.future });
    // held back: the early cut seen as ONE summed window, added after default's one-window rule
    // was changed (another window of the same routing, or of the shifted one, than it was looked at on)
    out.push({ name: `${stem}-${kind}-early-onewindow`, shape: t.shape, heat: summed(t.heat.slice(0, h)), current: t.current, future: t.heat.slice(h) });
  }
  const p = readReal('real-dsv3-prefill-shift');
  out.push({ name: 'dsv3-prefill-shift-reversed', shape: p.shape, heat: p.future, current: p.current, future: p.heat });
  const fit = readReal('real-dsv3-fit'); // its heat is the 4096 window
  const wide: DeploymentShape = { ...p.shape, numRanks: 64, slotsPerRank: 5, numNodes: 8 };
  const in4096 = getPolicy('greedy')({ shape: wide, heat: fit.heat }).physicalToLogical;
  out.push({ name: 'dsv3-prefill-shift-64x5', shape: wide, heat: p.heat, current: in4096, future: p.future });
  // held back: the same loads on a third engine shape (16 ranks × 20 slots, 64 redundant), added
  // after default's stale walk was changed, and not looked at while changing it
  const deep: DeploymentShape = { ...p.shape, numRanks: 16, slotsPerRank: 20, numNodes: 2 };
  const deepIn4096 = getPolicy('greedy')({ shape: deep, heat: fit.heat }).physicalToLogical;
  out.push({ name: 'dsv3-prefill-shift-16x20', shape: deep, heat: p.heat, current: deepIn4096, future: p.future });
  const in2048 = getPolicy('greedy')({ shape: wide, heat: p.heat }).physicalToLogical;
  out.push({ name: 'dsv3-fit-64x5', shape: wide, heat: fit.heat, current: in2048, future: fit.future });
  return out;
}

const a: Gen = { E: 64, R: 8, S: 10, L: 12, topK: 6 };
const b: Gen = { E: 128, R: 16, S: 10, L: 8, topK: 8 };
// a third shape and seed, added after default's stale rule was changed, to check it on a draw it
// was not looked at on: 96 experts on 12 ranks × 10 slots (24 redundant slots), top-4 routing
const c: Gen = { E: 96, R: 12, S: 10, L: 8, topK: 4 };
// a fourth, held back the same way after the stale walk was changed: 160 experts on 20 ranks ×
// 10 slots (40 redundant), top-8 routing, 6 layers
const d: Gen = { E: 160, R: 20, S: 10, L: 6, topK: 8 };
// held back after default's one-window walk was changed (a stale layer walked to the lowest
// excess within its budget): shifts on two shapes and seeds it was not looked at on (below) — 192
// experts on 24 ranks × 9 slots (24 redundant, top-8) and 48 experts on 6 ranks × 10 slots (12
// redundant, top-4), each as its window and as one summed window
const e: Gen = { E: 192, R: 24, S: 9, L: 4, topK: 8 };
const f: Gen = { E: 48, R: 6, S: 10, L: 8, topK: 4 };

/** The router-model shapes of the generated variants, by tag (bench:policy-heldout draws them with other seeds). */
export const GEN_SHAPES: Readonly<Record<string, Gen>> = { '64x8x10': a, '128x16x10': b, '96x12x10': c, '160x20x10': d, '192x24x9': e, '48x6x10': f };

export function generated(): Variant[] {
  const greedy = (g: Gen, heat: HeatEpisodes): number[][] => getPolicy('greedy')({ shape: shapeOf(g), heat }).physicalToLogical;
  const out: Variant[] = [];
  for (const [g, tag, seed] of [[a, '64x8x10', 21], [b, '128x16x10', 31], [c, '96x12x10', 41], [d, '160x20x10', 61]] as const) {
    // a new workload: the map in service planned on one seed's traffic, the traffic from another's
    const [oldTraffic] = draw(g, ['stationary'], seed, 16);
    const [, seen, future] = draw(g, ['stationary'], seed + 1, 16);
    out.push({ name: `gen-shift-${tag}`, shape: shapeOf(g), heat: seen, current: greedy(g, oldTraffic), future });
    out.push({ name: `gen-shift-${tag}-onewindow`, shape: shapeOf(g), heat: summed(seen), current: greedy(g, oldTraffic), future });
    for (const [kind, scen] of [['drift', ['drift']], ['alternating', ['alternating']], ['spikes', ['spikes']], ['stationary', ['stationary']]] as const) {
      const [before, s2, f2] = draw(g, [...scen], seed + 7, 16);
      out.push({ name: `gen-${kind}-${tag}`, shape: shapeOf(g), heat: s2, current: greedy(g, before), future: f2 });
      // held back the same way: stationary traffic seen as one summed window, on the map made for it
      if (kind === 'stationary') out.push({ name: `gen-${kind}-${tag}-onewindow`, shape: shapeOf(g), heat: summed(s2), current: greedy(g, before), future: f2 });
    }
  }
  for (const [g, tag, seed] of [[e, '192x24x9', 71], [f, '48x6x10', 81]] as const) {
    const [oldTraffic] = draw(g, ['stationary'], seed, 16);
    const [, seen, future] = draw(g, ['stationary'], seed + 1, 16);
    out.push({ name: `gen-shift-${tag}`, shape: shapeOf(g), heat: seen, current: greedy(g, oldTraffic), future });
    out.push({ name: `gen-shift-${tag}-onewindow`, shape: shapeOf(g), heat: summed(seen), current: greedy(g, oldTraffic), future });
  }
  return out;
}
