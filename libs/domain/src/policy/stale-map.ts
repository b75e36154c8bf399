import { HeatEpisodes, windowSum } from '../heat/heat';
import { LayerProblem } from './engine';
import { greedyLayer } from './greedy';
import { episodeImbalancesOfTwo } from './episode-imbalance';
import { LayerMove, bestWithin, budgetFrontier, lowestWithinBudget } from './search-path';
import { binomialCdf, erfc, normalQuantile, tQuantile } from './distributions';

/**
 * Is the map in service stale for a layer (the traffic it was planned for has gone), and if so
 * how far to move it? The answer and how sure it is.
 */
/** The move (`row` null: keep the map in service, not shown stale), and the test's answer. */
export interface StaleVerdict extends LayerMove {
  /**
   * 'held-out': a fresh plan made from the older half of the episodes was judged against the map
   * in service on the newer half; gain and se are that judgement's mean per-episode gain and its
   * standard error. 'one-window': too few episodes to hold any out; gain is the plan's on the
   * window itself and se the counting noise of the heat (a Poisson count n has sd √n), which says
   * nothing of how the traffic will change.
   */
  readonly basis: 'held-out' | 'one-window';
  readonly gain: number;
  readonly se: number;
}

/**
 * Family-wise false-alarm rate of the held-out test over a deployment's layers: the test runs on
 * every layer, so the most stale layer's z is corrected to a one-sided α / L (z ≈ 2.6 for 12
 * layers, 3.0 for 58, 3.5 for 232) and the next ones by Holm's step-down (holmFamilies): under
 * stationary heat a map is re-planned by chance in one proposal in twenty, not in every few dozen
 * layers.
 */
const FAMILY_ALPHA = 0.05;

/**
 * Threshold of the held-out test for a deployment of `layers` layers (see FAMILY_ALPHA), in
 * standard errors estimated from `n` held-out episodes: Student's t with n − 1 degrees of freedom
 * (the se is estimated from the episodes; with few degrees of freedom a normal threshold would be
 * crossed by chance more often than α says). n = Infinity: the normal quantile.
 */
export function staleZ(layers: number, n = Infinity): number {
  return tQuantile(1 - FAMILY_ALPHA / Math.max(1, layers), n - 1);
}

/**
 * The held-out test has lost most of its reach when its Student-t threshold on `dof` degrees of
 * freedom is more than twice the threshold the same test would have with the noise known (the
 * normal quantile): from 2 to 4 pooled degrees of freedom or fewer at the family-wise rates used
 * here (a couple of held-out episodes on a deployment of a few layers; with dozens of layers the
 * pooled noise has the freedom it needs). A gain it could detect would have to exceed twice what
 * the evidence would otherwise call significant.
 */
export function heldOutLacksPower(layers: number, dof: number): boolean {
  return staleZ(layers, dof + 1) > 2 * staleZ(layers);
}

/**
 * z on one window for a deployment of `layers` layers: the rule runs on every layer, as the
 * held-out test does, so it is held to the same family-wise false-alarm rate (staleZ with the
 * noise known: the counting se is a model's, not estimated from episodes). The counting se it is
 * applied to is an upper bound of the counting noise (the two maps' errors are added as if
 * independent, though they share the counts), but counts are not all that wanders: real routing
 * wanders more than Poisson counting, which one window cannot show — so a stale map (a new
 * workload) shows gains of dozens of counting se, and noise a few.
 */
export const oneWindowZ = (layers: number): number => staleZ(layers);

/**
 * How much more the one-window test's z wanders than the counting model says, read from the
 * deployment's own layers (an empirical null): a z is a layer's gain in counting se, and a layer
 * that still fits its map shows a z of about the counting null's — unless its routing wanders
 * more than Poisson counting, which real routing does and one window cannot show layer by layer.
 * Over the layers it can: the z of a fitting layer is at least as large as |N(0, 1)|, so the
 * layers' lower quartile of z, against what the same order statistic of |N(0, 1)| draws would be,
 * is how far the counting se understates the noise — when at least a quarter of the layers fit
 * their map. When more than three quarters are stale (a new workload moves every layer) none is a
 * null to read: 1, the counting test as it is. Never below 1.
 *
 * Which of the two a deployment is, is itself read from its layers, and the quartile of a few
 * layers is unsure: of 12 layers it is the 3rd smallest z, which a null wandering as much as the
 * rule can read puts above zt about four times in ten — and then every layer would be held to the
 * counting threshold alone, the false alarm the family-wise rate is there to prevent. So a null is
 * read unless the quartile is beyond what such a null shows but at that rate
 * (nullQuartileExceeds): a new workload's quartile, tens of times zt, still is.
 *
 * The scale is read from that same order statistic (the j-th smallest, at or below the quartile),
 * not interpolated towards the next one: when exactly j layers fit their map, the next is already
 * a stale layer, tens of times larger, and a quartile drawn towards it would set a threshold above
 * every stale layer — the deployment would stay on a map that most of its layers have outgrown.
 */
export function oneWindowInflation(zs: readonly number[], zt: number): number {
  if (zs.length === 0) return 1;
  const sorted = [...zs].sort((a, b) => a - b);
  const j = Math.floor((sorted.length - 1) / 4) + 1;
  const zj = sorted[j - 1];
  if (!(nullQuartileExceeds(sorted.length, j, zj, zt) > FAMILY_ALPHA)) return 1;
  return Math.max(1, zj / nullOrderStatistic(sorted.length, j));
}

/**
 * The median of the j-th smallest (1-based) of n draws of |N(0, 1)|: the value x with an even
 * chance that fewer than j draws fall below it, P(Bin(n, P(|N| < x)) ≤ j − 1) = ½, found on the
 * draw's probability (the binomial chance falls as it grows) and turned into x.
 */
export function nullOrderStatistic(n: number, j: number): number {
  let lo = 0, hi = 1;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(j - 1, n, mid) > 0.5) lo = mid;
    else hi = mid;
  }
  return normalQuantile((1 + (lo + hi) / 2) / 2);
}

/**
 * How often the lower quartile of `n` layers that all fit their map would reach `x`: the chance
 * that the `j`-th smallest (1-based; the order statistic at or below the quartile) of n draws of
 * the most wandering null the one-window rule can read is at least x. That null is the one whose
 * own lower quartile is at the threshold `zt` (a z of |N(0, 1)| × zt / Φ⁻¹(5/8)): a null that
 * wanders more shows a quartile above zt and is not read as one. The rule takes the layers for a
 * new workload only when this chance is below the family-wise rate (FAMILY_ALPHA): a quartile
 * just above zt (the point estimate of a few layers, which a null at zt exceeds four to five times in ten) is
 * no evidence that more than three quarters of the layers are stale, while a workload shift's, at
 * tens of times zt, is.
 */
export function nullQuartileExceeds(n: number, j: number, x: number, zt: number): number {
  if (!(x > 0)) return 1;
  // a draw of the null is below x with probability erf(x Φ⁻¹(5/8) / (zt √2)); the j-th smallest
  // is at least x when fewer than j draws are below it
  const below = Math.min(1, Math.max(0, 1 - erfc((x * normalQuantile(5 / 8)) / (zt * Math.SQRT2))));
  return binomialCdf(j - 1, n, below);
}

/** One layer's held-out judgement: per newer episode, imbalance under the map in service minus under the fresh plan. */
export interface HeldOutScreen {
  readonly diffs: Float64Array;
  readonly mean: number;
  /** Per newer episode, the imbalance of the fresh plan (a map that fits the traffic). */
  readonly fresh: Float64Array;
  /** The fresh plan itself. */
  readonly plan: Int32Array;
}

/**
 * With at least 4 episodes the question is answered out of sample: the plain greedy planned on
 * the older half of the episodes (their sum, or `olderLevel`: each expert's typical level there,
 * for heat whose deviations do not persist, so that a burst does not make the plan) is judged
 * against the map in service on each episode of the newer half. Under stationary heat a map
 * planned from other noise does no better than the map in service (both were planned from heat
 * like it); a stale map loses to any fresh plan, by far more than the episode noise. Cheap enough
 * for every layer (the speed target is met on layers that stay).
 */
export function heldOutScreen(heat: HeatEpisodes, layer: number, current: ArrayLike<number>, R: number, S: number, olderLevel: ArrayLike<number> | null): HeldOutScreen {
  const K = heat.length;
  const split = K - (K >> 1);
  const plan = greedyLayer(olderLevel ?? windowSum(heat.slice(0, split), layer), R, S);
  const { a: base, b: fresh } = episodeImbalancesOfTwo(heat, layer, split, K, current, plan, R, S);
  const diffs = new Float64Array(base.length);
  let sum = 0;
  for (let k = 0; k < base.length; k++) sum += diffs[k] = base[k] - fresh[k];
  return { diffs, mean: sum / Math.max(1, base.length), fresh, plan };
}

/**
 * The held-out test's noise, pooled over the layers screened: the per-episode differences' variance
 * about each layer's own mean, summed over layers (one engine, the same episodes; with only a
 * few held-out episodes a layer's own variance is too unsteady to test against — from 2 episodes
 * it has one degree of freedom). Returns the pooled sd and its degrees of freedom.
 */
export function pooledNoise(screens: readonly (HeldOutScreen | null)[]): PooledNoise {
  let ss = 0, fs = 0, dof = 0;
  for (const sc of screens) {
    if (!sc || sc.diffs.length < 2) continue;
    let fm = 0;
    for (let k = 0; k < sc.fresh.length; k++) fm += sc.fresh[k] / sc.fresh.length;
    for (let k = 0; k < sc.diffs.length; k++) {
      ss += (sc.diffs[k] - sc.mean) ** 2;
      fs += (sc.fresh[k] - fm) ** 2;
    }
    dof += sc.diffs.length - 1;
  }
  return { sd: dof > 0 ? Math.sqrt(ss / dof) : 0, dof, fitSd: dof > 0 ? Math.sqrt(fs / dof) : 0 };
}

/** The held-out test's noise (pooledNoise). */
export interface PooledNoise {
  /** sd of the per-episode differences (map in service − fresh plan) about each layer's mean. */
  readonly sd: number;
  readonly dof: number;
  /**
   * sd of a fitted map's per-episode imbalance about its layer's mean: how much the imbalance of
   * a map that fits the traffic wanders from episode to episode (the differences above also carry
   * the misfit of the map in service, which varies with the episode as much as it is large).
   */
  readonly fitSd: number;
}

/**
 * Holm's step-down over the layers' held-out tests: the layers ordered by their mean held-out gain
 * (one pooled se: the same order as their t), the i-th (from 0) is tested as in a family of L − i
 * layers, as long as every one before it was shown stale; from the first that is not, the rest are
 * held to that same threshold. The family-wise false-alarm rate is Bonferroni's (FAMILY_ALPHA), but
 * a workload shift, which leaves many layers stale at once, no longer holds its least stale layers
 * to the threshold of a test over all of them. Returns, per layer, the family size its test is
 * corrected for.
 */
export function holmFamilies(screens: readonly (HeldOutScreen | null)[], noise: PooledNoise): Int32Array {
  const L = screens.length;
  const family = new Int32Array(L).fill(L);
  const order = screens.flatMap((sc, l) => (sc ? [l] : [])).sort((a, b) => screens[b]!.mean - screens[a]!.mean || a - b);
  let i = 0;
  for (; i < order.length; i++) {
    const sc = screens[order[i]]!;
    family[order[i]] = L - i;
    if (!(sc.mean > staleZ(L - i, noise.dof + 1) * (noise.sd / Math.sqrt(sc.diffs.length)))) break;
  }
  for (let j = i + 1; j < order.length; j++) family[order[j]] = L - i;
  return family;
}

/**
 * How a layer shown stale is moved. It goes as far as the layer's transfer `budget` allows, to the
 * lowest point of a frontier that keeps the min-max replica counts (staleLayerMove), on `moved`'s
 * problem: a map whose traffic has gone misplaces load on every rank, and each transfer along the
 * frontier removes some of it, so stopping at the frontier's knee left gain the budget had room
 * for. `walked` is the problem the question "is it stale" is asked on (its frontier, on one
 * window). `older` is the same problem on the older half of the episodes: with episodes to hold
 * out, the move made from them is judged on the newer half as the held-out test judged a fresh
 * plan (a layer called stale by chance gets a move that fits noise, which the unseen episodes
 * refuse).
 */
export interface StaleMove {
  readonly walked: () => LayerProblem;
  /**
   * The problem a layer shown stale is moved on, whichever test showed it: each expert's mean share
   * over the window's episodes, weighted alike. The layer is one shot — its episodes are draws of
   * the same traffic — and the next window is judged episode by episode alike, so their plain mean
   * is the estimate of what comes. The recency weights, the Huber location and what the wandering
   * adds (walked's) serve the question; as the map to move to, each costs what it gives up of the
   * window (held back, the moves made on walked's problem left about 2 points more of greedy's
   * excess on the next window than the same moves on the plain mean, on real and router-model shifts).
   */
  readonly moved: () => LayerProblem;
  readonly older: () => LayerProblem;
  /** Transfers the layer may spend. */
  readonly budget: () => number;
  /** The frontier's far end (a from-scratch plan of `walked`'s problem), where one is made. */
  readonly target?: () => ArrayLike<number>;
}

/**
 * Is the layer stale, and how far to move it. With a held-out screen: its mean gain must exceed
 * staleZ standard errors (the pooled sd over √n; t on the pooled degrees of freedom, family-wise
 * over the layers by Holm's step-down), and so must the gain of the move itself on the held-out episodes
 * (StaleMove). With fewer than 4 episodes there is nothing to hold out, and where the held-out
 * test lacks power (heldOutLacksPower) it cannot clear a map: the window's own gain must then
 * exceed both minGain and the counting noise (oneWindowZ), the excess read no finer than that
 * noise; a layer shown stale so is moved by staleLayerMove on `moved`'s problem, as a layer
 * shown stale on held-out episodes is (on one window the two problems are the same shares unless
 * the layer's heat is read as not persisting). (The caller, which sees every layer,
 * may then hold such a move back: oneWindowInflation.)
 *
 * The frontier (searchPath) is built only for a layer that is walked: most layers stay, and
 * building its problem is a pass over the episodes.
 */
export function staleVerdict(
  heat: HeatEpisodes,
  layer: number,
  current: ArrayLike<number>,
  R: number,
  S: number,
  move: StaleMove,
  screen: {
    readonly test: HeldOutScreen;
    readonly noise: PooledNoise;
    readonly layers: number;
    /** The family size this layer's test is corrected for (holmFamilies; `layers` without it). */
    readonly family?: number;
  } | null,
  minGain: number,
): StaleVerdict {
  const { walked, target } = move;
  if (screen) {
    const { test, noise, layers } = screen;
    const se = noise.sd / Math.sqrt(test.diffs.length);
    const z = staleZ(screen.family ?? layers, noise.dof + 1);
    if (test.mean > z * se) {
      const K = heat.length;
      const split = K - test.diffs.length;
      const budget = move.budget();
      // the move made from the older half, judged on the newer half; the excess is read no finer
      // than the noise of the heat it was planned from (the pooled per-episode sd over √episodes)
      const po = move.older();
      const floor = noise.fitSd / Math.sqrt(split);
      const older = budgetFrontier(po, current, budget, undefined, floor);
      const j = bestWithin(older, budget, floor);
      const judged = j > 0 ? episodeImbalancesOfTwo(heat, layer, split, K, current, older.rows[j], R, S) : null;
      const heldOut = judged ? meanDiff(judged.a, judged.b) : 0;
      if (!(heldOut > z * se)) return { row: null, transfers: 0, basis: 'held-out', gain: heldOut, se };
      // the move itself has been confirmed on unseen episodes: now it goes as far as the budget
      // lets it. The noise floor that picked the older half's move says how far a fitted map's
      // imbalance wanders, which every point of the frontier shares (they are read on the same
      // heat); it does not tell two points apart, and stopping short of the budget left a shifted
      // layer's load less flat than a plain re-plan leaves it
      const moved = staleLayerMove(move.moved(), current, budget, target);
      return { ...moved, basis: 'held-out', gain: test.mean, se };
    }
    // Not shown stale — but from a handful of held-out episodes the test can hardly show anything.
    // A window of several episodes holds at least the evidence of one window, so a test that has
    // lost most of its reach defers to the one-window rule rather than keep a map the whole window
    // shows misfit.
    if (!heldOutLacksPower(layers, noise.dof)) return { row: null, transfers: 0, basis: 'held-out', gain: test.mean, se };
  }
  const pb = walked();
  const budget = move.budget();
  // the frontier that decides ends where the floor is reached: the move is walked on its own
  const floor = countingNoise(heat, layer, current, current, R, S);
  const path = budgetFrontier(pb, current, budget, target, floor);
  const i = bestWithin(path, budget, floor);
  const gain = path.f[0] - path.f[i];
  const se = countingNoise(heat, layer, current, path.rows[i], R, S);
  const take = i > 0 && gain >= minGain && gain > oneWindowZ(heat[0].length) * se;
  if (!take) return { row: null, transfers: 0, basis: 'one-window', gain, se };
  const moved = staleLayerMove(move.moved(), current, budget, target);
  return { ...moved, basis: 'one-window', gain, se };
}

/**
 * Where a layer shown stale is moved: the lowest point within the budget of a frontier whose
 * walks keep the min-max replica counts (budgetFrontier's keepCounts). What showed the layer stale
 * (the held-out test; on one window the frontier and the counting floor it was read with) decides
 * whether to move, as the rules' false-alarm rates were set on it; how far to go is another
 * question. A move's change of the seen rank loads holds on the next window (the walk picks no
 * noise there), so a residual excess below the counting floor is load the next window still
 * carries, and the flat-looking last retargets of a walk that may change counts leave hot experts
 * on fewer replicas, more exposed to the traffic's wander than the replicas they levelled.
 */
function staleLayerMove(pb: LayerProblem, current: ArrayLike<number>, budget: number, target?: () => ArrayLike<number>): LayerMove {
  return lowestWithinBudget(pb, current, budget, target, true);
}

/** mean over k of a[k] − b[k]. */
function meanDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let k = 0; k < a.length; k++) d += a[k] - b[k];
  return d / Math.max(1, a.length);
}

/**
 * Standard error of the window's imbalance gain from counting alone: the heat of an expert is a
 * count of token picks, Poisson with sd √count, so a rank's load (a sum of counts over replica
 * shares) has sd about √load, and the imbalance max/mean about imbalance/√(peak load). The two
 * maps' errors are added in quadrature (an upper bound: they share the counts). 0 when the heat is
 * all zero.
 */
export function countingNoise(heat: HeatEpisodes, layer: number, a: ArrayLike<number>, b: ArrayLike<number>, R: number, S: number): number {
  const h = windowSum(heat, layer);
  const peak = (row: ArrayLike<number>): [number, number] => {
    const reps = new Int32Array(h.length);
    for (let p = 0; p < R * S; p++) reps[row[p]]++;
    let m = 0, total = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let load = 0;
      for (let j = 0; j < S; j++, p++) load += h[row[p]] / reps[row[p]];
      total += load;
      if (load > m) m = load;
    }
    return [m, total];
  };
  const [ma, total] = peak(a);
  const [mb] = peak(b);
  if (!(total > 0)) return 0;
  const ia = (ma * R) / total, ib = (mb * R) / total;
  return Math.sqrt((ia * ia) / Math.max(1, ma) + (ib * ib) / Math.max(1, mb));
}
