/**
 * Probe (not a bench of record): on one-window shifts, move a stale layer from the map in service
 * TOWARDS a from-scratch plan of the window (greedy's, or flash's), its ranks matched to the map
 * in service (matchRanks), keeping every slot that need not move — instead of the default's walk
 * (count adoption, then local search anywhere). Each variant replaces the rows of the layers the
 * default moved (which layers move is the default's decision, so same-traffic alarms cannot
 * change), within the same per-layer budget (⌊⅓ × greedy's transfers of the layer⌋), and the
 * deployment is judged on the next window as the policy benches judge (bench/lib/policy-judge.ts):
 * mean excess vs greedy's, mean share of greedy's transfers, cuts meeting the shift target.
 *
 * Besides the excess, per variant: its excess on the seen window itself (in sample, % of greedy's)
 * and its exposure — the next window's mean per-episode peak had the seen window been perfectly
 * flat under the map (1 + the largest rank's load change, seen → next episode), in basis points
 * above greedy's: how much of the next excess comes from where the plan leaves the seen load, and
 * how much from which replicas share a rank.
 *
 * Variants (per moved layer, on the window's normalised heat; SPREAD weighs Σ load² next to the peak
 * as the default's walk does):
 * - toward-T (T = greedy, flash): the differing slots of the matched target adopted one replica at
 *   a time (each move brings one of the target's replicas onto its rank, in place of one the target
 *   drops there), the move that lowers peak + spread most first; the best point within the budget.
 * - back-T: from the matched target, its slots reverted to the map in service one at a time (the
 *   revert that raises peak + spread least first) until within the budget; back0: by the peak
 *   alone, first slot on ties (the scratch walk-back of shift-common.md).
 * - swapback-T: from the matched target by swaps only (the target's replica counts kept), the swap
 *   that saves transfers at the least rise of peak + spread per transfer saved first; moveback-T:
 *   swaps or a new replica given back to an expert its rank held; blindback: swaps drawn at random
 *   (no look at the heat: how exposed a map that keeps this much of the map in service is);
 *   …-half: to twice the budget.
 * - ranks-T: whole ranks of the matched target adopted, the one whose adoption lowers peak + spread
 *   most first (an expert left without a replica takes the smallest spare replica's slot).
 * - assign-T: the target's replicas assigned to slots (Hungarian): keeping a slot that holds its
 *   expert gains 1, a replica off its target rank pays a price × its load; the price swept, the
 *   cheapest within the budget (least) or the lowest peak within it (best).
 * - sticky / capped: LPT constructions that stick to the map in service (stickyConstruct at a price
 *   per replica placed off its rank; or a replica stays on its rank while that rank's load stays
 *   under a cap), swept, the cheapest within the budget or the lowest peak within it.
 * - union-…: of the default's row and the variant's, the lower peak on the window.
 * - ls-only: the default's local search from the map in service, no count adoption first.
 * - walk-ρ: the default's own walk (budgetFrontier) to its lowest point within the budget (no
 *   counting floor), on heat made peak-aware for a relative wander ρ of each expert's share
 *   (walk-0: plain heat — the policy with its one-window branch walking past the floor).
 * - …+ls: the same stopped at ⅔ of the budget, then the default's local search up to it (its
 *   lowest point within the budget).
 * The row `default` is the policy of this checkout.
 *
 * Sources: real-qwen-shift (map from the file; windows of 2, 6, 10 iterations, every 4th start,
 * next ≤ 5), router-model shifts on the held-back bench's 8 shapes with seeds it does not use
 * (SEEDS, default 7001,8009), and the DeepSeek-V3 prefill windows (as bench:policy-heldout cuts
 * them — a held-back set: read it as confirmation only).
 *
 *   node -r @swc-node/register bench/probes/one-window-shift/towards-target.ts
 *   SOURCES=qwen,router VARIANTS=toward-greedy node -r @swc-node/register bench/probes/one-window-shift/towards-target.ts
 */
import { DeploymentShape, HeatEpisodes, getPolicy, layerTransfers, meanEpisodeImbalance, windowSum } from '@eplb/domain';
import { LayerProblem, PlacementState } from '../../../libs/domain/src/policy/engine';
import { stickyConstruct } from '../../../libs/domain/src/policy/drift';
import { bySizeDescending, greedyLayer, replicateMinMax } from '../../../libs/domain/src/policy/greedy';
import { alignToCurrent } from '../../../libs/domain/src/transfer/transfer-plan';
import { normalQuantile } from '../../../libs/domain/src/policy/distributions';
import { bestWithin, budgetFrontier } from '../../../libs/domain/src/policy/search-path';
import { adoptReplicaCounts } from '../../../libs/domain/src/policy/replica-counts';
import { localSearch } from '../../../libs/domain/src/policy/search';
import { hungarian, matchRanks } from '../../../libs/domain/src/policy/rank-matching';
import { excessOver, meetsMoved, transferShare } from '../../lib/policy-judge';
import { GEN_SHAPES } from '../../traces/variants';
import { Gen, draw, dsv3Prefill, readReal, shapeOf, summed } from '../../traces/windows';

interface Cut {
  readonly name: string;
  readonly shape: DeploymentShape;
  readonly heat: HeatEpisodes;
  readonly current: number[][];
  readonly future: HeatEpisodes;
}

const SPREAD = 3;

function qwenCuts(): Cut[] {
  const t = readReal('real-qwen-shift');
  const its = [...t.heat, ...t.future];
  const out: Cut[] = [];
  for (let w = 2; w <= 10; w += 4)
    for (let a = 0; a + w < its.length; a += 4)
      out.push({ name: `qwen ${a}+${w}`, shape: t.shape, heat: summed(its.slice(a, a + w)), current: t.current, future: its.slice(a + w, a + w + 5) });
  return out;
}

const greedyMap = (shape: DeploymentShape, heat: HeatEpisodes): number[][] => getPolicy('greedy')({ shape, heat }).physicalToLogical;

function routerCuts(): Cut[] {
  const seeds = (process.env.SEEDS ?? '7001,8009').split(',').map(Number);
  const shapes: Record<string, Gen> = { ...GEN_SHAPES, '64x16x5': { E: 64, R: 16, S: 5, L: 8, topK: 6 }, '128x8x20': { E: 128, R: 8, S: 20, L: 16, topK: 8 } };
  const out: Cut[] = [];
  for (const [tag, g] of Object.entries(shapes))
    for (const seed of seeds)
      for (const n of [16, 4]) {
        const [, seen, future] = draw(g, ['stationary'], seed, n);
        const old = draw(g, ['stationary'], seed + 100, n)[0];
        out.push({ name: `router ${tag} ${seed} ${n}`, shape: shapeOf(g), heat: summed(seen), current: greedyMap(shapeOf(g), old), future });
      }
  return out;
}

function dsv3Cuts(): Cut[] {
  const { windows, shapes } = dsv3Prefill();
  const out: Cut[] = [];
  for (const [tag, shape] of Object.entries(shapes))
    for (const a of Object.keys(windows)) {
      const current = greedyMap(shape, windows[a]);
      for (const b of Object.keys(windows).filter((x) => x !== a))
        for (const n of Object.keys(windows)) out.push({ name: `dsv3 ${tag} ${a}/${b}/${n}`, shape, heat: windows[b], current, future: windows[n] });
    }
  return out;
}

/** The layer's one-shot problem on the window (what the default walks on one window). */
const problemOf = (h: ArrayLike<number>, shape: DeploymentShape): LayerProblem =>
  new LayerProblem(shape.numExperts, shape.numRanks, shape.slotsPerRank, 1, [h], Float64Array.of(1));

const score = (st: PlacementState, p: number, e: number): number => st.evalRetarget(p, e, true) + SPREAD * st.lastDV;

/**
 * From `cur` towards `target` (matched): each step brings one of the target's replicas that a rank
 * lacks onto it, in a slot whose expert the target does not keep there (and that has a replica
 * elsewhere). Stops at `stopAt` transfers; returns the point of lowest peak within it.
 */
function toward(pb: LayerProblem, cur: ArrayLike<number>, target: ArrayLike<number>, stopAt: number): PlacementState {
  const { R, S } = pb;
  const m = matchRanks(cur, target, R, S, pb.E);
  const st = new PlacementState(pb, cur);
  // per rank: the target's replicas still to bring, and the slots it rewrites
  const add: number[][] = Array.from({ length: R }, () => []);
  const open: number[] = [];
  for (let p = 0; p < R * S; p++) if (m[p] !== cur[p]) { add[(p / S) | 0].push(m[p]); open.push(p); }
  let best = Int32Array.from(st.slot), bestF = st.objective();
  for (;;) {
    let bs = Infinity, bp = -1, bi = -1;
    for (const p of open) {
      if (st.slot[p] !== cur[p] || st.reps[cur[p]] < 2) continue;
      const r = (p / S) | 0;
      for (let i = 0; i < add[r].length; i++) {
        const s = score(st, p, add[r][i]);
        if (s < bs) { bs = s; bp = p; bi = i; }
      }
    }
    if (bp < 0) break;
    const r = (bp / S) | 0;
    const e = add[r][bi];
    if (st.transfers + st.retargetTransfers(bp, e) > stopAt) break;
    st.applyRetarget(bp, e);
    add[r].splice(bi, 1);
    if (st.objective() < bestF - 1e-12) { bestF = st.objective(); best = Int32Array.from(st.slot); }
  }
  st.release();
  return new PlacementState(pb, best, cur);
}

/** From the matched target back towards `cur`: the revert that raises peak + spread least first, until within `stopAt`. */
function back(pb: LayerProblem, cur: ArrayLike<number>, target: ArrayLike<number>, stopAt: number, spread = SPREAD): PlacementState {
  const { R, S } = pb;
  const m = matchRanks(cur, target, R, S, pb.E);
  const st = new PlacementState(pb, m, cur);
  const open: number[] = [];
  for (let p = 0; p < R * S; p++) if (m[p] !== cur[p]) open.push(p);
  while (st.transfers > stopAt) {
    let bs = Infinity, bp = -1;
    for (const p of open) {
      const e = st.slot[p];
      if (e === cur[p] || st.reps[e] < 2) continue;
      const s = st.evalRetarget(p, cur[p], spread > 0) + spread * st.lastDV;
      if (s < bs) { bs = s; bp = p; }
    }
    if (bp < 0) break;
    st.applyRetarget(bp, cur[bp]);
  }
  return st;
}

/**
 * From the matched target back towards `cur` by swaps only (the target's replica counts kept):
 * each step the swap that saves transfers at the least rise of peak + spread per transfer saved,
 * until within `stopAt`. Only swaps that move a replica new on its rank are looked at.
 */
function swapBack(pb: LayerProblem, cur: ArrayLike<number>, target: ArrayLike<number>, stopAt: number, retargets = false, blind = false): PlacementState {
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const { R, S, E, P } = pb;
  const st = new PlacementState(pb, matchRanks(cur, target, R, S, E), cur);
  while (st.transfers > stopAt) {
    let bs = Infinity, bp = -1, bq = -1, by = -1;
    if (retargets) {
      // a replica new on its rank given back to an expert the rank held (the counts change)
      for (let p = 0; p < P; p++) {
        const r = (p / S) | 0;
        if (st.orig[r * E + st.slot[p]] !== 0 || st.reps[st.slot[p]] < 2) continue;
        for (let j = 0; j < S; j++) {
          const y = cur[r * S + j];
          const saved = -st.retargetTransfers(p, y);
          if (saved <= 0) continue;
          const s = (st.evalRetarget(p, y, true) + SPREAD * st.lastDV) / saved;
          if (s < bs) { bs = s; bp = p; by = y; }
        }
      }
    }
    for (let p = 0; p < P; p++) {
      const r = (p / S) | 0;
      if (st.orig[r * E + st.slot[p]] !== 0) continue;
      for (let q = 0; q < P; q++) {
        // (a swap of two replicas of one expert changes nothing, though swapTransfers counts it)
        if (((q / S) | 0) === r || st.slot[q] === st.slot[p]) continue;
        const saved = -st.swapTransfers(p, q);
        if (saved <= 0) continue;
        // blind: a swap drawn at random among those that save transfers (no look at the heat)
        const s = blind ? rand() : (st.evalSwap(p, q, true) + SPREAD * st.lastDV) / saved;
        if (s < bs) { bs = s; bp = p; bq = q; by = -1; }
      }
    }
    if (bp < 0) break;
    if (by >= 0) st.applyRetarget(bp, by);
    else st.applySwap(bp, bq);
  }
  return st;
}

/**
 * Whole ranks of the matched target adopted, one rank at a time, the one whose adoption lowers
 * peak + spread most first, while the transfers stay within `stopAt`; an expert left without a
 * replica takes the slot of a rank not adopted whose expert has one to spare (least rise first).
 */
function adoptRanks(pb: LayerProblem, cur: ArrayLike<number>, target: ArrayLike<number>, stopAt: number): PlacementState {
  const { R, S, E, P } = pb;
  const m = matchRanks(cur, target, R, S, E);
  const adopted = new Uint8Array(R);
  const build = (extra: number): PlacementState | null => {
    const row = Int32Array.from(cur);
    for (let r = 0; r < R; r++) if (adopted[r] || r === extra) for (let j = 0; j < S; j++) row[r * S + j] = m[r * S + j];
    const reps = new Int32Array(E);
    for (let p = 0; p < P; p++) reps[row[p]]++;
    // an expert left without a replica takes the slot of the smallest spare replica on a rank not adopted
    for (let e = 0; e < E; e++) {
      if (reps[e] > 0) continue;
      let bp = -1;
      for (let p = 0; p < P; p++) {
        const r = (p / S) | 0, x = row[p];
        if (adopted[r] || r === extra || reps[x] < 2) continue;
        let holds = false;
        for (let j = 0; j < S && !holds; j++) holds = row[r * S + j] === e;
        if (holds) continue;
        if (bp < 0 || pb.hsum[x] / reps[x] < pb.hsum[row[bp]] / reps[row[bp]]) bp = p;
      }
      if (bp < 0) return null;
      reps[row[bp]]--;
      row[bp] = e;
      reps[e]++;
    }
    return new PlacementState(pb, row, cur);
  };
  let st = build(-1)!;
  for (;;) {
    let best: PlacementState | null = null, bs = Infinity, br = -1;
    for (let r = 0; r < R; r++) {
      if (adopted[r]) continue;
      const c = build(r);
      if (!c) continue;
      const sc = c.objective() + SPREAD * spreadOf(c);
      if (c.transfers <= stopAt && sc < bs) { best?.release(); best = c; bs = sc; br = r; }
      else c.release();
    }
    if (!best) return st;
    st.release();
    st = best;
    adopted[br] = 1;
  }
}

/** Σ load² / R of a one-shot state. */
function spreadOf(st: PlacementState): number {
  let v = 0;
  for (let r = 0; r < st.pb.R; r++) v += st.load[r] ** 2;
  return v / st.pb.R;
}

/** The default's local search from `st` up to `budget` transfers; the point of lowest peak within the budget. */
function polish(st: PlacementState, budget: number): Int32Array {
  let best = Int32Array.from(st.slot), bestF = st.transfers <= budget ? st.objective() : Infinity;
  const onMove = (): void => {
    if (st.transfers <= budget && st.objective() < bestF - 1e-12) { bestF = st.objective(); best = Int32Array.from(st.slot); }
  };
  localSearch(st, { lambda: 0, maxMoves: st.pb.P, spread: SPREAD, ranks: 3, donors: 24, onMove, stop: () => st.transfers > budget });
  st.release();
  return best;
}

/** Prices per transfer of the sticky construction, in units of the mean rank load, cheapest first. */
const PENALTIES = Array.from({ length: 25 }, (_, i) => 0.0005 * 1.4 ** i);

/**
 * The two-stage construction that sticks to the map in service (LPT order, a rank that does not
 * hold the replica pays `penalty`), at the prices of PENALTIES; of the constructions within the
 * budget, the cheapest price's (`least`: the most like a fresh plan) or the lowest peak's.
 */
function sticky(pb: LayerProblem, cur: ArrayLike<number>, budget: number, pick: 'least' | 'best'): Int32Array {
  const reps = replicateMinMax(pb.hsum, pb.P, pb.R);
  return sweptWithin(pb, cur, budget, pick, PENALTIES, (pen) => stickyConstruct(pb, reps, cur, pen));
}

/**
 * A construction swept over its setting `xs` (in order): of the maps within the budget, the lowest
 * peak's (`best`) or the first one's (`least`); the map in service when none is within it.
 */
function sweptWithin(pb: LayerProblem, cur: ArrayLike<number>, budget: number, pick: 'least' | 'best', xs: readonly number[], build: (x: number) => ArrayLike<number>): Int32Array {
  let best: Int32Array | null = null, bestF = Infinity;
  for (const x of xs) {
    const st = new PlacementState(pb, build(x), cur);
    if (st.transfers <= budget && st.objective() < bestF) { bestF = st.objective(); best = Int32Array.from(st.slot); }
    st.release();
    if (best && pick === 'least') break;
  }
  return best ?? Int32Array.from(cur);
}

/**
 * LPT with the map in service as home: the min-max replicas, largest first, each stays on a rank
 * that holds its expert now when that rank has a free slot and its load stays within `cap` (in
 * units of the mean rank load); otherwise it goes where LPT sends it (the least-loaded rank with a
 * free slot that does not hold the expert).
 */
function cappedLpt(pb: LayerProblem, cur: ArrayLike<number>, reps: Int32Array, cap: number): number[] {
  const { R, S, E, hsum } = pb;
  const size = new Float64Array(E);
  for (let e = 0; e < E; e++) size[e] = hsum[e] / reps[e];
  const order = bySizeDescending(size);
  const home = new Uint8Array(R * E), has = new Uint8Array(R * E);
  for (let p = 0; p < R * S; p++) home[((p / S) | 0) * E + cur[p]] = 1;
  const load = new Float64Array(R), count = new Int32Array(R);
  const row = new Array<number>(R * S);
  for (const e of order) {
    for (let c = 0; c < reps[e]; c++) {
      let r = -1;
      for (let q = 0; q < R; q++) {
        if (!home[q * E + e] || has[q * E + e] || count[q] >= S || load[q] + size[e] > cap) continue;
        if (r < 0 || load[q] < load[r]) r = q;
      }
      if (r < 0) for (let q = 0; q < R; q++) if (count[q] < S && !has[q * E + e] && (r < 0 || load[q] < load[r])) r = q;
      if (r < 0) for (let q = 0; q < R; q++) if (count[q] < S && (r < 0 || load[q] < load[r])) r = q;
      row[r * S + count[r]++] = e;
      has[r * E + e] = 1;
      load[r] += size[e];
    }
  }
  return alignToCurrent(cur, row, S);
}

/** Caps of cappedLpt, tightest first: from the mean rank load up. */
const CAPS = Array.from({ length: 30 }, (_, i) => 1 + 0.0005 * 1.35 ** i - 0.0005);

/** cappedLpt within the budget: the lowest peak's (`best`) or the tightest cap's (`least`). */
function capped(pb: LayerProblem, cur: ArrayLike<number>, budget: number, pick: 'least' | 'best'): Int32Array {
  const reps = replicateMinMax(pb.hsum, pb.P, pb.R);
  return sweptWithin(pb, cur, budget, pick, CAPS, (cap) => cappedLpt(pb, cur, reps, cap));
}

/**
 * The matched target's replicas assigned to the slots (Hungarian): a replica keeps a slot that
 * holds its expert now for a gain of 1, and pays `price` × its load (units of the mean rank load)
 * on any rank other than the one the target gives it — big replicas go where the target puts
 * them, small ones stay where they are.
 */
function assignTowards(pb: LayerProblem, cur: ArrayLike<number>, m: ArrayLike<number>, reps: Int32Array, price: number): number[] {
  const { S, P, hsum } = pb;
  const cost = new Float64Array(P * P);
  for (let i = 0; i < P; i++) {
    const e = m[i], t = (i / S) | 0, size = hsum[e] / reps[e];
    for (let p = 0; p < P; p++) cost[i * P + p] = (((p / S) | 0) !== t ? price * size : 0) - (cur[p] === e ? 1 : 0);
  }
  const to = hungarian(cost, P);
  const row = new Array<number>(P);
  for (let i = 0; i < P; i++) row[to[i]] = m[i];
  return row;
}

/** Prices of assignTowards, highest first (the target itself) down. */
const PRICES = Array.from({ length: 24 }, (_, i) => 1000 / 1.5 ** i);

function assigned(pb: LayerProblem, cur: ArrayLike<number>, target: ArrayLike<number>, budget: number, pick: 'least' | 'best'): PlacementState {
  const m = matchRanks(cur, target, pb.R, pb.S, pb.E);
  const reps = new Int32Array(pb.E);
  for (let p = 0; p < pb.P; p++) reps[m[p]]++;
  let best: Int32Array | null = null, bestF = Infinity;
  for (const price of PRICES) {
    const st = new PlacementState(pb, assignTowards(pb, cur, m, reps, price), cur);
    if (st.transfers <= budget && st.objective() < bestF) { bestF = st.objective(); best = Int32Array.from(st.slot); }
    st.release();
    if (best && pick === 'least') break;
  }
  return new PlacementState(pb, best ?? cur, cur);
}

/**
 * The window's heat with each expert's episode-to-episode wandering modelled as a relative sd `rho`
 * of its share (v_e = (ρ·h_e)²), made peak-aware as peakAwareHeat makes heat whose wandering it
 * can measure: a replica weighs its mean share plus z·v_e / (2σ̄·c_e²), so big replicas sharing a
 * rank (whose wandering adds up) weigh more than their mean says.
 */
function wanderAware(h: Float64Array, R: number, S: number, rho: number): Float64Array {
  const E = h.length;
  const c = replicateMinMax(h, R * S, R);
  let total = 0;
  for (let e = 0; e < E; e++) total += (rho * h[e]) ** 2 / c[e];
  const sigma = Math.sqrt(total / R);
  if (!(sigma > 0)) return h;
  const z = normalQuantile((R - 0.375) / (R + 0.25));
  return h.map((x, e) => x + (z * (rho * x) ** 2) / (2 * sigma * c[e]));
}

/** The default's one-window walk (budgetFrontier, its lowest point within the budget) on wanderAware heat. */
function walkAware(pb: LayerProblem, cur: ArrayLike<number>, budget: number, rho: number): Int32Array {
  const h = rho > 0 ? wanderAware(pb.hsum, pb.R, pb.S, rho) : pb.hsum;
  const q = new LayerProblem(pb.E, pb.R, pb.S, 1, [h], Float64Array.of(1));
  const path = budgetFrontier(q, cur, budget);
  return path.rows[bestWithin(path, budget, 0)];
}

/**
 * The default's frontier read to its lowest point within the transfers that adopting the min-max
 * replica counts takes (at least the default's own point's, at most the budget): past the counting
 * floor as far as the counts, no further into local search.
 */
function walkToCounts(pb: LayerProblem, cur: ArrayLike<number>, budget: number, chosen: ArrayLike<number>): Int32Array {
  const st = new PlacementState(pb, cur);
  adoptReplicaCounts(st, replicateMinMax(pb.hsum, pb.P, pb.R), SPREAD);
  const counts = st.transfers;
  st.release();
  const own = layerTransfers(cur, chosen, pb.S);
  const path = budgetFrontier(pb, cur, budget);
  return path.rows[bestWithin(path, Math.min(budget, Math.max(own, counts)), 0)];
}

type Variant = (pb: LayerProblem, cur: ArrayLike<number>, budget: number, targets: { greedy: ArrayLike<number>; flash: ArrayLike<number>; default: ArrayLike<number> }) => Int32Array;
/** Of the default's row and `other`'s, the one of lower peak on the window. */
const lowerOf = (pb: LayerProblem, cur: ArrayLike<number>, a: ArrayLike<number>, b: Int32Array): Int32Array => {
  const fa = new PlacementState(pb, a, cur), fb = new PlacementState(pb, b, cur);
  const out = fb.objective() < fa.objective() - 1e-12 ? b : Int32Array.from(a);
  fa.release(); fb.release();
  return out;
};
const finish = (st: PlacementState): Int32Array => { const r = Int32Array.from(st.slot); st.release(); return r; };
const VARIANTS: Record<string, Variant> = {
  'toward-greedy': (pb, cur, b, t) => finish(toward(pb, cur, t.greedy, b)),
  'toward-flash': (pb, cur, b, t) => finish(toward(pb, cur, t.flash, b)),
  'back-greedy': (pb, cur, b, t) => finish(back(pb, cur, t.greedy, b)),
  'back-flash': (pb, cur, b, t) => finish(back(pb, cur, t.flash, b)),
  'swapback-greedy': (pb, cur, b, t) => finish(swapBack(pb, cur, t.greedy, b)),
  'swapback-flash': (pb, cur, b, t) => finish(swapBack(pb, cur, t.flash, b)),
  'moveback-greedy': (pb, cur, b, t) => finish(swapBack(pb, cur, t.greedy, b, true)),
  'moveback-flash': (pb, cur, b, t) => finish(swapBack(pb, cur, t.flash, b, true)),
  'back0-greedy+ls': (pb, cur, b, t) => polish(back(pb, cur, t.greedy, Math.floor(0.7 * b), 0), b),
  'ranks-greedy+ls': (pb, cur, b, t) => polish(adoptRanks(pb, cur, t.greedy, Math.floor((2 * b) / 3)), b),
  'ranks-flash+ls': (pb, cur, b, t) => polish(adoptRanks(pb, cur, t.flash, Math.floor((2 * b) / 3)), b),
  'ranks-greedy+ls1': (pb, cur, b, t) => polish(adoptRanks(pb, cur, t.greedy, b), b),
  'capped-least': (pb, cur, b) => capped(pb, cur, b, 'least'),
  'capped-best': (pb, cur, b) => capped(pb, cur, b, 'best'),
  'assign-greedy-least': (pb, cur, b, t) => finish(assigned(pb, cur, t.greedy, b, 'least')),
  'assign-greedy-best': (pb, cur, b, t) => finish(assigned(pb, cur, t.greedy, b, 'best')),
  'assign-flash-best': (pb, cur, b, t) => finish(assigned(pb, cur, t.flash, b, 'best')),
  'assign-greedy-least+ls': (pb, cur, b, t) => polish(assigned(pb, cur, t.greedy, Math.floor((2 * b) / 3), 'least'), b),
  'union-swapback-flash': (pb, cur, b, t) => lowerOf(pb, cur, t.default, finish(swapBack(pb, cur, t.flash, b))),
  'union-swapback-greedy': (pb, cur, b, t) => lowerOf(pb, cur, t.default, finish(swapBack(pb, cur, t.greedy, b))),
  'blindback-greedy': (pb, cur, b, t) => finish(swapBack(pb, cur, t.greedy, b, false, true)),
  'blindback-greedy-half': (pb, cur, b, t) => finish(swapBack(pb, cur, t.greedy, 2 * b, false, true)),
  'swapback-greedy-half': (pb, cur, b, t) => finish(swapBack(pb, cur, t.greedy, 2 * b)),
  'ls-only': (pb, cur, b) => polish(new PlacementState(pb, cur), b),
  'walk-counts': (pb, cur, b, t) => walkToCounts(pb, cur, b, t.default),
  'walk-0': (pb, cur, b) => walkAware(pb, cur, b, 0),
  'walk-0.03': (pb, cur, b) => walkAware(pb, cur, b, 0.03),
  'walk-0.1': (pb, cur, b) => walkAware(pb, cur, b, 0.1),
  'walk-0.3': (pb, cur, b) => walkAware(pb, cur, b, 0.3),
  'sticky-least': (pb, cur, b) => sticky(pb, cur, b, 'least'),
  'sticky-best': (pb, cur, b) => sticky(pb, cur, b, 'best'),
  'toward-greedy+ls': (pb, cur, b, t) => polish(toward(pb, cur, t.greedy, Math.floor((2 * b) / 3)), b),
  'swapback-flash+ls': (pb, cur, b, t) => polish(swapBack(pb, cur, t.flash, Math.floor((2 * b) / 3)), b),
  'moveback-greedy+ls': (pb, cur, b, t) => polish(swapBack(pb, cur, t.greedy, Math.floor((2 * b) / 3), true), b),
  'moveback-flash+ls': (pb, cur, b, t) => polish(swapBack(pb, cur, t.flash, Math.floor((2 * b) / 3), true), b),
  'back-greedy+ls': (pb, cur, b, t) => polish(back(pb, cur, t.greedy, Math.floor((2 * b) / 3)), b),
};

/** Per rank, its load on `h` in units of the mean rank load. */
function rankLoads(row: ArrayLike<number>, h: ArrayLike<number>, R: number, S: number): Float64Array {
  const reps = new Map<number, number>();
  for (let p = 0; p < R * S; p++) reps.set(row[p], (reps.get(row[p]) ?? 0) + 1);
  const load = new Float64Array(R);
  let total = 0;
  for (let p = 0; p < R * S; p++) {
    const v = h[row[p]] / reps.get(row[p])!;
    load[(p / S) | 0] += v;
    total += v;
  }
  return load.map((x) => (total > 0 ? (x * R) / total : 1));
}

/**
 * Exposure: the next window's mean per-episode peak had the seen window been perfectly flat under
 * the map (1 + the largest rank's load change, seen → each next episode), over layers.
 */
function exposure(map: number[][], seen: HeatEpisodes, future: HeatEpisodes, R: number, S: number): number {
  let sum = 0, n = 0;
  for (let l = 0; l < map.length; l++) {
    const a = rankLoads(map[l], seen[0][l], R, S);
    for (const ep of future) {
      const b = rankLoads(map[l], ep[l], R, S);
      let m = -Infinity;
      for (let r = 0; r < R; r++) m = Math.max(m, 1 + b[r] - a[r]);
      sum += m;
      n++;
    }
  }
  return sum / n;
}

const sources: Record<string, () => Cut[]> = { qwen: qwenCuts, router: routerCuts, dsv3: dsv3Cuts };
const wanted = (process.env.SOURCES ?? 'qwen,router,dsv3').split(',');
const names = (process.env.VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',');
const needFlash = names.some((n) => n.includes('flash'));

for (const src of wanted) {
  const cuts = sources[src]();
  const acc: Record<string, { ex: number; share: number; met: number; n: number; over: number; ins: number; abs: number; expo: number }> = {};
  const add = (k: string, ex: number, share: number, met: boolean, over: boolean, ins: number, abs: number, expo: number): void => {
    const a = (acc[k] ??= { ex: 0, share: 0, met: 0, n: 0, over: 0, ins: 0, abs: 0, expo: 0 });
    if (Number.isFinite(ex)) { a.ex += ex; a.n++; a.ins += ins; a.abs += abs; a.expo += expo; }
    a.share += Number.isFinite(share) ? share : 0;
    a.met += met ? 1 : 0;
    a.over += over ? 1 : 0;
  };
  // several cuts share an input: plans made once per input
  const memo = new Map<string, { maps: Record<string, number[][]>; gT: number }>();
  for (const cut of cuts) {
    const { shape, heat, current } = cut;
    const { numRanks: R, slotsPerRank: S } = shape;
    const key = `${shape.numRanks}x${shape.slotsPerRank}:${cut.name.replace(/\/[^/]*$/, '')}`;
    let plans = memo.get(key);
    if (!plans) {
      const input = { shape, heat, current };
      const d = getPolicy('default')(input).physicalToLogical;
      const g = getPolicy('greedy')(input).physicalToLogical;
      const f = needFlash ? getPolicy('flash')(input).physicalToLogical : g;
      const maps: Record<string, number[][]> = { default: d, greedy: g, ...(needFlash ? { flash: f } : {}) };
      for (const v of names) maps[v] = d.map((row) => row.slice());
      for (let l = 0; l < shape.numLayers; l++) {
        if (layerTransfers(current[l], d[l], S) === 0) continue;
        const h = windowSum(heat, l);
        const pb = problemOf(h, shape);
        const budget = Math.floor(layerTransfers(current[l], greedyLayer(h, R, S), S) / 3);
        for (const v of names) maps[v][l] = Array.from(VARIANTS[v](pb, current[l], budget, { greedy: g[l], flash: f[l], default: d[l] }));
      }
      plans = { maps, gT: g.reduce((s, row, l) => s + layerTransfers(current[l], row, S), 0) };
      memo.set(key, plans);
    }
    const gFut = meanEpisodeImbalance(plans.maps.greedy, cut.future, R, S);
    const gIn = meanEpisodeImbalance(plans.maps.greedy, heat, R, S);
    const gExpo = exposure(plans.maps.greedy, heat, cut.future, R, S);
    for (const [k, map] of Object.entries(plans.maps)) {
      if (k === 'greedy') continue;
      const fut = meanEpisodeImbalance(map, cut.future, R, S);
      const tr = map.reduce((s, row, l) => s + layerTransfers(current[l], row, S), 0);
      const ins = excessOver(meanEpisodeImbalance(map, heat, R, S), gIn);
      add(k, excessOver(fut, gFut), transferShare(tr, plans.gT), meetsMoved({ fut, transfers: tr }, { fut: gFut, transfers: plans.gT }, 1), tr > plans.gT / 3, ins, fut - gFut, exposure(map, heat, cut.future, R, S) - gExpo);
    }
  }
  for (const [k, a] of Object.entries(acc)) {
    console.log(`${src} (${cuts.length} cuts) ${k.padEnd(18)} next excess ${((100 * a.ex) / a.n).toFixed(1)}% of greedy's (${((1e4 * a.abs) / a.n).toFixed(1)} bp above), in sample ${((100 * a.ins) / a.n).toFixed(0)}%, exposure ${((1e4 * a.expo) / a.n).toFixed(1)} bp above, transfers ${((100 * a.share) / cuts.length).toFixed(1)}%, met ${a.met}, over ⅓ ${a.over}`);
  }
}
