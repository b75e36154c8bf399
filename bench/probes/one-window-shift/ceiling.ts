/**
 * Probe (not a bench of record): what stands between the default's move of a stale layer and the
 * shift target (≤ 100% of greedy's excess on the next window, ≤ ⅓ of its transfers) — the choice
 * of a point on the frontier (selection), the frontier itself (construction), or what one window
 * can know (information). On bench:policy-heldout's shift cuts (bench/lib/heldout-cuts.ts), each
 * judged on its next window as the bench judges (bench/lib/policy-judge.ts: mean over the next
 * window's episodes and layers of the per-episode imbalance; excess = (map − 1) / (greedy − 1),
 * greedy planned on the seen window), the maps:
 *   (a) default: the policy as built;
 *   (b) oracle-kc: in each layer default moved, the point of default's own frontier (budgetFrontier
 *       with keepCounts on the window's mean shares, as staleLayerMove builds it) within the
 *       layer's budget that is best ON THE NEXT WINDOW (the map in service, point 0, included);
 *   (c) oracle-free: the same on the frontier whose walks may change replica counts (keepCounts off);
 *   (d) walk-next: the keepCounts walk on the NEXT window's own mean shares, its lowest point
 *       within the same budget (hindsight heat, the same construction and budget);
 *   (e) greedy-next: greedy planned on the next window (hindsight, no transfer bound);
 *   (b-xfit) the oracle of (b) cross-fitted: the next window's episodes split alternately, the point
 *       picked on one half judged on the other (what of the oracle's gain is not the judge's noise
 *       picked; only on cuts with at least 2 next episodes).
 * Layers default left in service stay so in (b)–(d); (b-all) is the oracle of (b) run on every
 * layer, the layers default kept included. The budget is the policy's (transferBudget: ⌊⅓ ×
 * greedyLayer's transfers of the layer⌋). `rebuilt` counts the moved layers whose row the probe's
 * frontier reproduces (default's pick = its lowest point within the budget).
 *
 *   node -r @swc-node/register bench/probes/one-window-shift/ceiling.ts [set regexp, default ^(qwen-shift-file|router-shift|dsv3)$]
 */
import { writeFileSync } from 'node:fs';
import { DeploymentShape, HeatEpisodes, getPolicy, layerTransfers, meanEpisodeImbalance, windowSum } from '@eplb/domain';
import { LayerProblem } from '../../../libs/domain/src/policy/engine';
import { greedyLayer } from '../../../libs/domain/src/policy/greedy';
import { meanShareHeat } from '../../../libs/domain/src/policy/peak-aware-heat';
import { SearchPath, bestWithin, budgetFrontier } from '../../../libs/domain/src/policy/search-path';
import { Cut, Input, SETS } from '../../lib/heldout-cuts';
import { excessOver, transferShare } from '../../lib/policy-judge';

/** CEILING_QUICK=1: no free frontier and no walk on the next window (their columns are then meaningless). */
const QUICK = process.env.CEILING_QUICK === '1';
/** CEILING_SHRINK=B: also default's move on the window's mean shares shrunk by B towards the uniform share (a diagnostic of regression to the mean, B not fitted to anything). */
const SHRINK = Number(process.env.CEILING_SHRINK ?? 0);
/** CEILING_XNEXT=1: also the walk and greedy planned on one half of the next window's episodes (alternate ones), judged on the other half. */
const XNEXT = process.env.CEILING_XNEXT === '1';
const ONLY = new RegExp(process.argv[2] ?? '^(qwen-shift-file|router-shift|dsv3)$');
const VARIANTS = ['default', 'shrunk', 'oracle-kc', 'oracle-kc-all', 'oracle-free', 'walk-next', 'greedy-next'] as const;
type V = (typeof VARIANTS)[number];

const oneShot = (shape: DeploymentShape, h: Float64Array): LayerProblem =>
  new LayerProblem(shape.numExperts, shape.numRanks, shape.slotsPerRank, 1, [h], Float64Array.of(1));
const ones = (n: number): Float64Array => new Float64Array(n).fill(1);
/** The layer's mean per-episode imbalance on `future`. */
const layerFut = (row: ArrayLike<number>, future: HeatEpisodes, l: number, R: number, S: number): number =>
  meanEpisodeImbalance([Array.from(row)], future.map((ep) => [ep[l]]), R, S);
const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Per input (several dsv3 cuts share one): the plans and frontiers, made once. */
interface Planned {
  readonly d: number[][];
  readonly g: number[][];
  readonly gTransfers: number;
  readonly budget: number[];
  readonly moved: boolean[];
  readonly kc: SearchPath[];
  readonly free: SearchPath[];
  /** Per layer default moved, default's move on the mean shares shrunk towards the uniform share by SHRINK. */
  readonly shrunk: (Int32Array | null)[];
  rebuilt: number;
}
const planned = new WeakMap<Input, Planned>();
function plan(input: Input): Planned {
  const hit = planned.get(input);
  if (hit) return hit;
  const { shape, heat, current } = input;
  const { numRanks: R, slotsPerRank: S, numLayers: L } = shape;
  const d = getPolicy('default')(input).physicalToLogical;
  const g = getPolicy('greedy')(input).physicalToLogical;
  const p: Planned = { d, g, gTransfers: 0, budget: [], moved: [], kc: [], free: [], shrunk: [], rebuilt: 0 };
  let gt = 0;
  for (let l = 0; l < L; l++) {
    gt += layerTransfers(current[l], g[l], S);
    const budget = Math.floor(layerTransfers(current[l], greedyLayer(windowSum(heat, l), R, S), S) / 3);
    const pb = oneShot(shape, meanShareHeat(heat, l, R, ones(heat.length)));
    const kc = budgetFrontier(pb, current[l], budget, undefined, -Infinity, true);
    const moved = !same(d[l], current[l]);
    if (moved && same(kc.rows[bestWithin(kc, budget, 0)], d[l])) p.rebuilt++;
    p.budget.push(budget);
    p.moved.push(moved);
    p.kc.push(kc);
    p.free.push(moved && !QUICK ? budgetFrontier(pb, current[l], budget, undefined, -Infinity, false) : kc);
    if (moved && SHRINK > 0) {
      const x = meanShareHeat(heat, l, R, ones(heat.length)), m = R / x.length;
      const sh = budgetFrontier(oneShot(shape, x.map((v) => m + (1 - SHRINK) * (v - m))), current[l], budget, undefined, -Infinity, true);
      p.shrunk.push(sh.rows[bestWithin(sh, budget, 0)]);
    } else p.shrunk.push(null);
  }
  const out = { ...p, gTransfers: gt };
  planned.set(input, out);
  return out;
}

/** The point within the budget best on the next window (`future`). */
function oracle(path: SearchPath, budget: number, future: HeatEpisodes, l: number, R: number, S: number): Int32Array {
  let best = 0, bf = Infinity;
  for (let i = 0; i < path.rows.length; i++) {
    if (path.transfers[i] > budget) continue;
    const f = layerFut(path.rows[i], future, l, R, S);
    if (f < bf - 1e-12) { bf = f; best = i; }
  }
  return path.rows[best];
}

/**
 * The oracle cross-fitted: the next window's episodes split in two (alternately), the point picked
 * on one half judged on the other and vice versa — what of the oracle's gain is not the judge's own
 * noise picked. The layer's next imbalance over the whole window (NaN with one next episode).
 */
function crossFitted(path: SearchPath, budget: number, future: HeatEpisodes, l: number, R: number, S: number): number {
  if (future.length < 2) return NaN;
  const a = future.filter((_, k) => k % 2 === 0), b = future.filter((_, k) => k % 2 === 1);
  const fb = layerFut(oracle(path, budget, a, l, R, S), b, l, R, S);
  const fa = layerFut(oracle(path, budget, b, l, R, S), a, l, R, S);
  return (fb * b.length + fa * a.length) / future.length;
}

interface Row { fut: number; transfers: number }
function judgeCut(cut: Cut): { rows: Record<V, Row>; xfit: number; xnext: [number, number]; greedy: Row; moved: number; layers: number; rebuilt: number; pickAt: number; oracleAt: number } {
  const { shape, heat, current } = cut.input;
  const { numRanks: R, slotsPerRank: S, numLayers: L } = shape;
  const p = plan(cut.input);
  const { future } = cut;
  const gNext = getPolicy('greedy')({ shape, heat: future }).physicalToLogical;
  const maps: Record<V, ArrayLike<number>[]> = { default: [], shrunk: [], 'oracle-kc': [], 'oracle-kc-all': [], 'oracle-free': [], 'walk-next': [], 'greedy-next': gNext };
  let pickAt = 0, oracleAt = 0, xfit = 0;
  // the walk and greedy planned on one half of the next window's episodes, judged on the other
  const xnext: [number, number] = XNEXT && future.length >= 2 ? [0, 0] : [NaN, NaN];
  if (XNEXT && future.length >= 2) {
    const halves = [future.filter((_, k) => k % 2 === 0), future.filter((_, k) => k % 2 === 1)];
    for (const [from, to] of [[0, 1], [1, 0]]) {
      const gh = getPolicy('greedy')({ shape, heat: halves[from] }).physicalToLogical;
      const wt = halves[to].length / future.length;
      xnext[1] += wt * meanEpisodeImbalance(gh, halves[to], R, S);
      const rows = current.map((cur, l) => {
        if (!p.moved[l]) return cur;
        const kcH = budgetFrontier(oneShot(shape, meanShareHeat(halves[from], l, R, ones(halves[from].length))), cur, p.budget[l], undefined, -Infinity, true);
        return Array.from(kcH.rows[bestWithin(kcH, p.budget[l], 0)]);
      });
      xnext[0] += wt * meanEpisodeImbalance(rows, halves[to], R, S);
    }
  }
  for (let l = 0; l < L; l++) {
    const cur = current[l];
    maps.default.push(p.d[l]);
    const okc = oracle(p.kc[l], p.budget[l], future, l, R, S);
    maps['oracle-kc-all'].push(okc);
    xfit += (p.moved[l] ? crossFitted(p.kc[l], p.budget[l], future, l, R, S) : layerFut(cur, future, l, R, S)) / L;
    if (!p.moved[l]) {
      maps['oracle-kc'].push(cur);
      maps['oracle-free'].push(cur);
      maps['walk-next'].push(cur);
      continue;
    }
    maps['oracle-kc'].push(okc);
    if (points) {
      const kc = p.kc[l], a = future.filter((_, k) => k % 2 === 0), b = future.filter((_, k) => k % 2 === 1);
      const pts: number[][] = [];
      for (let i = 0; i < kc.rows.length; i++) {
        if (kc.transfers[i] > p.budget[l]) continue;
        pts.push([kc.transfers[i], kc.f[i], layerFut(kc.rows[i], future, l, R, S), b.length ? layerFut(kc.rows[i], a, l, R, S) : NaN, b.length ? layerFut(kc.rows[i], b, l, R, S) : NaN]);
      }
      points.push({ cut: cut.name, l, budget: p.budget[l], pts });
    }
    pickAt += layerTransfers(cur, p.d[l], S) / Math.max(1, p.budget[l]);
    oracleAt += layerTransfers(cur, okc, S) / Math.max(1, p.budget[l]);
    maps['oracle-free'].push(oracle(p.free[l], p.budget[l], future, l, R, S));
    maps.shrunk.push(p.shrunk[l] ?? cur);
    if (QUICK) {
      maps['walk-next'].push(cur);
      continue;
    }
    const pbN = oneShot(shape, meanShareHeat(future, l, R, ones(future.length)));
    const kcN = budgetFrontier(pbN, cur, p.budget[l], undefined, -Infinity, true);
    maps['walk-next'].push(kcN.rows[bestWithin(kcN, p.budget[l], 0)]);
  }
  const judge = (m: ArrayLike<number>[]): Row => ({
    fut: meanEpisodeImbalance(m.map((r) => Array.from(r)), future, R, S),
    transfers: m.reduce((s: number, r, l) => s + layerTransfers(current[l], r, S), 0),
  });
  const rows = Object.fromEntries(VARIANTS.map((v) => [v, judge(maps[v])])) as Record<V, Row>;
  const moved = p.moved.filter(Boolean).length;
  return { rows, xfit, xnext, greedy: { fut: meanEpisodeImbalance(p.g, future, R, S), transfers: p.gTransfers }, moved, layers: L, rebuilt: p.rebuilt, pickAt: pickAt / Math.max(1, moved), oracleAt: oracleAt / Math.max(1, moved) };
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');
const dump: unknown[] = [];
/** CEILING_POINTS=<file>: per moved layer, each point of default's frontier within the budget: transfers, F seen, next, next's even and odd episodes. */
const points: unknown[] | null = process.env.CEILING_POINTS ? [] : null;
console.log('| set | cuts | layers moved | rebuilt | ' + VARIANTS.map((v) => `${v}: excess mean (met)`).join(' | ') + ' | oracle-kc cross-fitted (cuts with ≥ 2 next episodes): excess mean (met), default on the same cuts | share of budget used: default / oracle-kc |');
console.log('|---|---:|---|---:|' + VARIANTS.map(() => '---').join('|') + '|---|---|');
for (const set of SETS.filter((s) => ONLY.test(s.name))) {
  const js = set.cuts().map((cut) => ({ cut, ...judgeCut(cut) }));
  for (const j of js) dump.push({ set: set.name, cut: j.cut.name, greedy: j.greedy, rows: j.rows, xfit: j.xfit, moved: j.moved });
  const cells = VARIANTS.map((v) => {
    const ex = js.map((j) => excessOver(j.rows[v].fut, j.greedy.fut)).filter(Number.isFinite);
    const met = js.filter((j) => excessOver(j.rows[v].fut, j.greedy.fut) <= 1 && (v === 'greedy-next' || j.rows[v].transfers <= j.greedy.transfers / 3)).length;
    const share = mean(js.map((j) => transferShare(j.rows[v].transfers, j.greedy.transfers)).filter(Number.isFinite));
    return `${pct(mean(ex))} (${met}; ${pct(share)} tr)`;
  });
  const xs = js.filter((j) => Number.isFinite(j.xfit));
  const xcell = xs.length
    ? `${pct(mean(xs.map((j) => excessOver(j.xfit, j.greedy.fut))))} (${xs.filter((j) => excessOver(j.xfit, j.greedy.fut) <= 1).length} of ${xs.length}), ${pct(mean(xs.map((j) => excessOver(j.rows.default.fut, j.greedy.fut))))}`
    : '-';
  if (XNEXT) {
    const xn = js.filter((j) => Number.isFinite(j.xnext[0]));
    const ex = (i: number): string => pct(mean(xn.map((j) => excessOver(j.xnext[i], j.greedy.fut))));
    console.log(`${set.name}: planned on half the next window, judged on the other half (${xn.length} cuts): walk ${ex(0)}, greedy ${ex(1)}`);
  }
  const moved = js.reduce((s, j) => s + j.moved, 0), layers = js.reduce((s, j) => s + j.layers, 0);
  const rebuilt = js.reduce((s, j) => s + j.rebuilt, 0);
  console.log(`| ${set.name} | ${js.length} | ${moved} of ${layers} | ${rebuilt} | ${cells.join(' | ')} | ${xcell} | ${pct(mean(js.map((j) => j.pickAt)))} / ${pct(mean(js.map((j) => j.oracleAt)))} |`);
}
if (points) writeFileSync(process.env.CEILING_POINTS!, JSON.stringify(points));
if (process.env.CEILING_DUMP) writeFileSync(process.env.CEILING_DUMP, JSON.stringify(dump));
