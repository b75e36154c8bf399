/**
 * Probe (not a bench of record): along the default's walk on a one-window shift, how the seen
 * window's excess, the next window's imbalance and the "flat-seen next peak" (1 + the largest
 * rank load change seen → next: the next peak had the seen window been perfectly flat) evolve
 * with the moves — and where the gap to greedy's re-plan on the next window comes from:
 *  (i)   selection on noise: each move's change of the two ranks' loads on the seen heat against
 *        the same move's change on the next window (slope of next on seen, pooled over moves; 1
 *        = what the seen window showed holds), for count adoption and local-search moves, and
 *        the same slope for greedy's whole re-plan (its rank load changes from the map in service);
 *  (ii)  co-location: the variance over ranks of the rank load change split into the replicas'
 *        own part (Σ over a rank's replicas of their change²) and the cross part (pairs of
 *        replicas sharing a rank whose changes go together), per plan;
 *  (iii) the kept structure: the share of slots each plan keeps from the map in service;
 * and how far the experts' share changes exceed counting noise. Plans: the map in service, the
 * walk's pick at the counting floor (the one-window rule's pick before the keepCounts move), the
 * frontier's lowest point within the budget, the lowest point of the frontier that keeps the
 * min-max counts (swaps), the default as built, greedy.
 * Sources: real-qwen-shift (windows of 2, 6, 10 iterations, every 4th start, next ≤ 5), the
 * router model's shift on its 8 shapes with seeds bench:policy-heldout does not use (7003/8011),
 * the DeepSeek-V3 prefill windows (map = greedy on A, seen B, next C ≠ B).
 *
 *   node -r @swc-node/register bench/probes/one-window-shift/frontier.ts [qwen|router|dsv3 ...]
 */
import { DeploymentShape, HeatEpisodes, getPolicy, windowSum } from '@eplb/domain';
import { LayerProblem, PlacementState } from '../../../libs/domain/src/policy/engine';
import { greedyLayer, replicateMinMax } from '../../../libs/domain/src/policy/greedy';
import { peakAwareHeat } from '../../../libs/domain/src/policy/peak-aware-heat';
import { bestWithin, budgetFrontier, searchPath } from '../../../libs/domain/src/policy/search-path';
import { countingNoise } from '../../../libs/domain/src/policy/stale-map';
import { GEN_SHAPES } from '../../traces/variants';
import { Gen, draw, readReal, shapeOf, summed } from '../../traces/windows';

interface Cut {
  readonly shape: DeploymentShape;
  readonly heat: HeatEpisodes;
  readonly current: number[][];
  readonly next: HeatEpisodes;
}

const greedyMap = (shape: DeploymentShape, heat: HeatEpisodes): number[][] => getPolicy('greedy')({ shape, heat }).physicalToLogical;

function qwenCuts(): Cut[] {
  const t = readReal('real-qwen-shift');
  const its = [...t.heat, ...t.future];
  const out: Cut[] = [];
  for (let w = 2; w <= 10; w += 4) for (let a = 0; a + w < its.length; a += 4) out.push({ shape: t.shape, heat: summed(its.slice(a, a + w)), current: t.current, next: summed(its.slice(a + w, a + w + 5)) });
  return out;
}

function routerCuts(): Cut[] {
  const shapes: Record<string, Gen> = { ...GEN_SHAPES, '64x16x5': { E: 64, R: 16, S: 5, L: 8, topK: 6 }, '128x8x20': { E: 128, R: 8, S: 20, L: 16, topK: 8 } };
  const out: Cut[] = [];
  for (const g of Object.values(shapes)) {
    for (const seed of [7003, 8011]) {
      for (const n of [16, 4]) {
        const [, seen, future] = draw(g, ['stationary'], seed, n);
        const old = draw(g, ['stationary'], seed + 100, n)[0];
        out.push({ shape: shapeOf(g), heat: summed(seen), current: greedyMap(shapeOf(g), old), next: summed(future) });
      }
    }
  }
  return out;
}

function dsv3Cuts(): Cut[] {
  const p = readReal('real-dsv3-prefill-shift'), fit = readReal('real-dsv3-fit');
  const windows = [fit.heat, p.heat, p.future];
  const out: Cut[] = [];
  for (let a = 0; a < 3; a++) {
    const current = greedyMap(p.shape, windows[a]);
    for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) if (b !== a && c !== b) out.push({ shape: p.shape, heat: windows[b], current, next: windows[c] });
  }
  return out;
}

/** Rank loads of a row on heat h, mean rank load 1. */
function loads(row: ArrayLike<number>, h: ArrayLike<number>, R: number, S: number): Float64Array {
  const reps = new Int32Array(h.length);
  for (let p = 0; p < R * S; p++) reps[row[p]]++;
  const out = new Float64Array(R);
  let total = 0;
  for (let p = 0; p < R * S; p++) {
    const v = h[row[p]] / reps[row[p]];
    out[(p / S) | 0] += v;
    total += v;
  }
  for (let r = 0; r < R; r++) out[r] = (out[r] * R) / total;
  return out;
}
const max = (x: Float64Array): number => x.reduce((a, b) => Math.max(a, b), -Infinity);

/** Seen imbalance, next imbalance, flat-seen next peak of one row. */
function judge(row: ArrayLike<number>, h: ArrayLike<number>, hn: ArrayLike<number>, R: number, S: number): [number, number, number] {
  const a = loads(row, h, R, S), b = loads(row, hn, R, S);
  let flat = -Infinity;
  for (let r = 0; r < R; r++) flat = Math.max(flat, 1 + b[r] - a[r]);
  return [max(a), max(b), flat];
}

/** Per rank, the variance split of the load change: Σ over replicas of their own change² and the cross part. */
function changeSplit(row: ArrayLike<number>, h: ArrayLike<number>, hn: ArrayLike<number>, R: number, S: number): [number, number] {
  const reps = new Int32Array(h.length);
  for (let p = 0; p < R * S; p++) reps[row[p]]++;
  let th = 0, tn = 0;
  for (let e = 0; e < h.length; e++) { th += h[e]; tn += hn[e]; }
  let own = 0, total = 0;
  for (let r = 0; r < R; r++) {
    let sum = 0;
    for (let j = 0; j < S; j++) {
      const e = row[r * S + j];
      const c = ((hn[e] / tn - h[e] / th) * R) / reps[e];
      own += c * c;
      sum += c;
    }
    total += sum * sum;
  }
  return [own / R, (total - own) / R];
}

const acc = new Map<string, number>();
const add = (k: string, v: number): void => void acc.set(k, (acc.get(k) ?? 0) + v);
const get = (k: string): number => acc.get(k) ?? 0;
const BUCKETS = [0, 0.25, 0.5, 0.75, 1];

function layer(cut: Cut, l: number, dRow: ArrayLike<number>, gRow: ArrayLike<number>): void {
  const { numRanks: R, slotsPerRank: S } = cut.shape;
  const cur = cut.current[l];
  const h = windowSum(cut.heat, l), hn = windowSum(cut.next, l);
  const pb = new LayerProblem(cut.shape.numExperts, R, S, 1, [peakAwareHeat(cut.heat, l, R, S, [1])], Float64Array.of(1));
  const gState = new PlacementState(pb, gRow, cur);
  const budget = Math.floor(new PlacementState(pb, greedyLayer(h, R, S), cur).transfers / 3);
  gState.release();
  // the price-0 walk (the frontier's first walk) as it goes, point by point
  const walk = searchPath(pb, cur, pb.P, undefined, 0, budget);
  const pts = walk.rows.map((row) => judge(row, h, hn, R, S));
  const counts = replicateMinMax(pb.hsum, pb.P, pb.R);
  let adopted = walk.rows.findIndex((row) => {
    const c = new Int32Array(pb.E);
    for (const e of row) c[e]++;
    return c.every((x, e) => x === counts[e]);
  });
  if (adopted < 0) adopted = walk.rows.length - 1;
  for (const b of BUCKETS) {
    // the last point within b × budget
    let i = 0;
    while (i + 1 < walk.rows.length && walk.transfers[i + 1] <= b * budget) i++;
    add(`walk ${b} seen`, pts[i][0] - 1); add(`walk ${b} next`, pts[i][1] - 1); add(`walk ${b} flat`, pts[i][2] - 1); add(`walk ${b} moves`, i);
  }
  add('walk adopted moves', adopted);
  // (i) each move's change of rank loads, seen vs next
  for (let i = 1; i < walk.rows.length; i++) {
    const a0 = loads(walk.rows[i - 1], h, R, S), a1 = loads(walk.rows[i], h, R, S);
    const b0 = loads(walk.rows[i - 1], hn, R, S), b1 = loads(walk.rows[i], hn, R, S);
    const kind = i <= adopted ? 'adopt' : 'search';
    for (let r = 0; r < R; r++) {
      const ds = a1[r] - a0[r], dn = b1[r] - b0[r];
      add(`${kind} ss`, ds * ds); add(`${kind} sn`, ds * dn);
    }
    add(`${kind} moves`, 1);
    add(`${kind} gain seen`, pts[i - 1][0] - pts[i][0]); add(`${kind} gain next`, pts[i - 1][1] - pts[i][1]);
  }
  {
    const a0 = loads(cur, h, R, S), a1 = loads(gRow, h, R, S), b0 = loads(cur, hn, R, S), b1 = loads(gRow, hn, R, S);
    for (let r = 0; r < R; r++) {
      const ds = a1[r] - a0[r], dn = b1[r] - b0[r];
      add('greedy ss', ds * ds); add('greedy sn', ds * dn);
    }
  }
  // the default's own pick on its frontier, and greedy, flat-seen and split
  const path = budgetFrontier(pb, cur, budget);
  const pick = path.rows[bestWithin(path, budget, countingNoise(cut.heat, l, cur, cur, R, S))];
  const lowest = path.rows[bestWithin(path, budget, 0)];
  const kept = budgetFrontier(pb, cur, budget, undefined, -Infinity, true);
  const swaps = kept.rows[bestWithin(kept, budget, 0)];
  const rows: Record<string, ArrayLike<number>> = { current: cur, pick, lowest, swaps, default: dRow, greedy: gRow };
  // how far the experts' share changes exceed what counting alone (Poisson token picks) gives
  let th = 0, tn = 0, seenVar = 0, countVar = 0;
  for (let e = 0; e < h.length; e++) { th += h[e]; tn += hn[e]; }
  for (let e = 0; e < h.length; e++) {
    seenVar += ((hn[e] / tn - h[e] / th) * R) ** 2;
    countVar += R * R * (h[e] / (th * th) + hn[e] / (tn * tn));
  }
  add('change var', seenVar); add('counting var', countVar);
  for (const [k, row] of Object.entries(rows)) {
    const [s, n, f] = judge(row, h, hn, R, S);
    const [own, cross] = changeSplit(row, h, hn, R, S);
    let kept = 0;
    for (let p = 0; p < R * S; p++) if (row[p] === cur[p]) kept++;
    add(`${k} seen`, s - 1); add(`${k} next`, n - 1); add(`${k} flat`, f - 1); add(`${k} own`, own); add(`${k} cross`, cross); add(`${k} kept`, kept / (R * S));
  }
  add('layers', 1);
}

const SOURCES: Record<string, () => Cut[]> = { qwen: qwenCuts, router: routerCuts, dsv3: dsv3Cuts };
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SOURCES);
for (const name of chosen) {
  acc.clear();
  for (const cut of SOURCES[name]()) {
    const input = { shape: cut.shape, heat: cut.heat, current: cut.current };
    const d = getPolicy('default')(input).physicalToLogical, g = getPolicy('greedy')(input).physicalToLogical;
    for (let l = 0; l < cut.shape.numLayers; l++) layer(cut, l, d[l], g[l]);
  }
  const n = get('layers');
  const m = (k: string, d = 4): string => (get(k) / n).toFixed(d);
  console.log(`== ${name}: ${n} layers (mean per layer; excess = imbalance − 1)`);
  console.log('price-0 walk, last point within b × budget: b | moves | seen excess | next excess | flat-seen next peak − 1');
  for (const b of BUCKETS) console.log(`  ${b.toFixed(2)} | ${m(`walk ${b} moves`, 1)} | ${m(`walk ${b} seen`)} | ${m(`walk ${b} next`)} | ${m(`walk ${b} flat`)}`);
  console.log(`  count adoption ends after ${m('walk adopted moves', 1)} moves`);
  for (const kind of ['adopt', 'search']) {
    console.log(`  ${kind} moves ${m(`${kind} moves`, 1)}/layer: slope of next on seen rank load change ${(get(`${kind} sn`) / get(`${kind} ss`)).toFixed(3)}; peak gain seen ${m(`${kind} gain seen`)}, next ${m(`${kind} gain next`)}`);
  }
  console.log(`  experts' share changes seen → next: ${(get('change var') / get('counting var')).toFixed(1)} × the variance counting alone gives`);
  console.log(`  greedy's re-plan: slope of next on seen rank load change ${(get('greedy sn') / get('greedy ss')).toFixed(3)}`);
  console.log('plan | seen excess | next excess | flat-seen − 1 | change var: own | cross | slots kept');
  for (const k of ['current', 'pick', 'lowest', 'swaps', 'default', 'greedy']) console.log(`  ${k} | ${m(`${k} seen`)} | ${m(`${k} next`)} | ${m(`${k} flat`)} | ${m(`${k} own`, 5)} | ${m(`${k} cross`, 5)} | ${m(`${k} kept`, 3)}`);
}
