import { DeploymentShape, numSlots } from '../shape/deployment-shape';
import { HeatEpisodes, decayWeights, windowSum } from '../heat/heat';
import { imbalance } from '../heat/imbalance';
import { LayerProblem, PlacementState, groupEpisodes } from './engine';
import { branchAndBound } from './bnb';
import { greedyLayer, hierarchicalApplies, hierarchicalLayer, packLpt, replicateMinMax } from './greedy';
import { SearchLimits, constructVector, localSearch } from './search';
import { LayerCertainty, PolicyInput, PolicyOptions } from './types';
import { StaleMove, heldOutScreen, holmFamilies, oneWindowInflation, oneWindowZ, pooledNoise, staleVerdict } from './stale-map';
import { DriftPlanOptions, driftRatio, forecastShots, planForDrift, stickyConstruct } from './drift';
import { bestWithin, lowestWithinBudget, searchPath } from './search-path';
import { LayerStats, layerStats } from './layer-stats';
import { layerTransfers } from '../transfer/transfer-plan';
import { meanShareHeat, peakAwareHeat } from './peak-aware-heat';
import { huberLevel } from './huber-level';
import { BurstVerdict, burstScreen, burstVerdict } from './burst-screen';

/** One layer's problem: its episodes grouped into shots (maxShots 0 keeps every episode). */
function problem(shape: DeploymentShape, heat: HeatEpisodes, layer: number, w: Float64Array, options: PolicyOptions): LayerProblem {
  const raw = heat.map((ep) => ep[layer]);
  const maxShots = options.maxShots ?? 4;
  const shots = maxShots > 0 ? groupEpisodes(raw, w, maxShots, options.similarity ?? 0.7) : { episodes: raw, w };
  return new LayerProblem(shape.numExperts, shape.numRanks, shape.slotsPerRank, shots.episodes.length, shots.episodes, shots.w);
}

/** Whether a gain (mean per-episode imbalance) is worth its transfers. */
function paysFor(gain: number, transfers: number, perTransfer: number, minGain: number): boolean {
  return gain >= minGain && gain > perTransfer * transfers;
}

/** A one-shot problem from one heat vector. */
function oneShot(shape: DeploymentShape, h: Float64Array): LayerProblem {
  return new LayerProblem(shape.numExperts, shape.numRanks, shape.slotsPerRank, 1, [h], Float64Array.of(1));
}

/**
 * greedy: the classic default EPLB on the window sum. The hierarchical form (groups → nodes →
 * ranks) is used when groups divide by nodes and it balances within 1% of the flat form (it
 * keeps a group's traffic on one node, but when a node's groups are hot it cannot spread them:
 * on stationary-dsv3-ep64, one group per node, it gives 2.37 against 1.37). `hierarchical: true`
 * forces it wherever it applies, `false` never uses it.
 */
export function greedyPolicy(input: PolicyInput): number[][] {
  const { shape, heat, options = {} } = input;
  const { numRanks: R, slotsPerRank: S, numNodes: N, numGroups: G, numExperts: E } = shape;
  const applies = options.hierarchical !== false && hierarchicalApplies(E, R, S, N, G);
  const out: number[][] = [];
  for (let l = 0; l < shape.numLayers; l++) {
    const h = windowSum(heat, l);
    const flat = greedyLayer(h, R, S);
    if (!applies) {
      out.push(Array.from(flat));
      continue;
    }
    const hier = hierarchicalLayer(h, R, S, N, G as number);
    const use = options.hierarchical === true || imbalance(hier, h, R, S) <= imbalance(flat, h, R, S) * 1.01;
    out.push(Array.from(use ? hier : flat));
  }
  return out;
}

/**
 * The from-scratch search shared by flash and by default (when there is no map in service):
 * the better of the vector construction and the flat greedy, improved by local search on the
 * multi-episode objective, then — for layers small enough — branch and bound seeded with it.
 */
function searchFromScratch(pb: LayerProblem, options: PolicyOptions, defaultBudget: number): Int32Array {
  const { R, S, E } = pb;
  const reps = replicateMinMax(pb.hsum, R * S, R);
  let best = new PlacementState(pb, constructVector(pb, reps));
  const alt = new PlacementState(pb, packLpt(pb.hsum, reps, R, S));
  if (alt.objective() < best.objective()) best = alt;
  localSearch(best, {
    lambda: 0,
    maxMoves: options.maxMoves ?? 2 * R * S,
    ranks: options.searchRanks ?? DEFAULT_SEARCH_RANKS,
    donors: 32,
    spread: options.spread ?? DEFAULT_SPREAD,
  });
  const budget = options.nodeBudget ?? (E <= 32 ? defaultBudget : 0);
  if (budget > 0) {
    const res = branchAndBound(pb, best.objective(), budget);
    if (res.row) best = new PlacementState(pb, res.row);
  }
  return best.slot;
}

/** flash: joint replicas and placement for the expected per-episode peak over all episodes. */
export function flashPolicy(input: PolicyInput): number[][] {
  const { shape, heat, options = {} } = input;
  const w = decayWeights(heat.length, options.halfLife ?? Infinity);
  const out: number[][] = [];
  for (let l = 0; l < shape.numLayers; l++) {
    out.push(Array.from(searchFromScratch(problem(shape, heat, l, w, options), options, 300_000)));
  }
  return out;
}

const DEFAULT_TRANSFER_COST = 0.0004;
const DEFAULT_SPREAD = 3;
const DEFAULT_STATIONARY_GAIN_PER_TRANSFER = 0.01;
const DEFAULT_SEARCH_RANKS = 6;
/**
 * Share of a greedy re-plan's transfers default may spend on a layer it re-plans: "few moves" as
 * docs/design.md ("How policies are judged") bounds them, at most a third of the greedy's.
 */
const DEFAULT_TRANSFER_BUDGET = 1 / 3;

/**
 * Local-search effort from the map in service. With one shot (stationary heat: the episodes
 * differ by noise only) the peak is a single rank and a short search finds what there is to
 * find; with several shots (phases, drift) the peaks of the shots form plateaus, which the spread
 * term lets the search walk across, looking at more overloaded ranks.
 */
function searchLimits(pb: LayerProblem, lambda: number, options: PolicyOptions, stationaryLambda = lambda): SearchLimits {
  const multi = pb.K > 1;
  return {
    lambda: multi ? lambda : stationaryLambda,
    maxMoves: options.maxMoves ?? (multi ? pb.P : Math.max(4, pb.R >> 4)),
    spread: options.spread ?? (multi ? DEFAULT_SPREAD : 0),
    ranks: options.searchRanks ?? (multi ? DEFAULT_SEARCH_RANKS : 1),
    donors: multi ? 24 : 6,
  };
}

/**
 * incremental: from the map in service, local search on F − λ·transfers; experts that are not
 * moved keep their slot. Without a map in service, plans from scratch like flash.
 */
export function incrementalPolicy(input: PolicyInput): number[][] {
  const { shape, heat, current, options = {} } = input;
  if (!current) return flashPolicy(input);
  const w = decayWeights(heat.length, options.halfLife ?? Infinity);
  const lambda = options.transferCost ?? DEFAULT_TRANSFER_COST;
  const out: number[][] = [];
  for (let l = 0; l < shape.numLayers; l++) {
    const st = new PlacementState(problem(shape, heat, l, w, options), current[l]);
    localSearch(st, searchLimits(st.pb, lambda, options));
    out.push(Array.from(st.slot));
  }
  return out;
}

/**
 * default: what the scheduler runs. Per layer, from the map in service:
 * - heat that drifts (driftMap) is planned for a forecast of the next interval, when a held-out
 *   check confirms that plan, within the layer's transfer budget (transferBudget);
 * - heat that forms one shot (stationary within the window, noise, random spikes, or a single
 *   window) asks only whether the map in service still fits it (staleVerdict): a map shown stale
 *   out of sample (or, on one window, beyond its counting noise, scaled by how much more than
 *   counting the deployment's layers that fit their map wander: oneWindowInflation) is
 *   re-planned along its gain vs transfers frontier as far as the layer's transfer budget
 *   allows; one that still fits stays as it is. Heat whose deviations do not persist
 *   (heatPersists) is planned from each expert's typical (trimmed mean) share; where the map in
 *   service, not stale, is shown fitted to the bursts of the window it was planned on
 *   (burstVerdict: the newer episodes judged with their bursts clipped, one test over the
 *   deployment), such a layer is walked as a stale one is;
 * - heat of several shots (alternating phases) takes the better, episode by episode, of the
 *   search from the map in service and a sticky construction, within the layer's transfer budget
 *   (over it, the frontier's best point within it), redeployed only when its imbalance
 *   exceeds 1 + threshold, its gain pays (minGain, λ per transfer) and the held-out check
 *   confirms it. Recent episodes weigh more (half-life of half the window).
 * Without a map in service, plans from scratch like flash.
 */
export function defaultPolicy(input: PolicyInput, notes?: LayerCertainty[]): number[][] {
  const { shape, heat, current, options = {} } = input;
  const K = heat.length;
  const w = decayWeights(K, options.halfLife ?? 2 * K);
  if (!current) {
    return Array.from({ length: shape.numLayers }, (_, l) =>
      Array.from(searchFromScratch(problem(shape, heat, l, w, options), options, 300_000)),
    );
  }
  const lambda = options.transferCost ?? DEFAULT_TRANSFER_COST;
  const threshold = options.threshold ?? 0.02;
  const minGain = options.minGain ?? 0.01;
  // one shot = stationary heat: the seen gain is partly noise, so each transfer must buy more — in
  // the search (moves worth less than this per transfer are not taken) as in the decision
  const stationaryPrice = options.stationaryGainPerTransfer ?? DEFAULT_STATIONARY_GAIN_PER_TRANSFER;
  const budgetShare = options.transferBudget ?? DEFAULT_TRANSFER_BUDGET;
  const out: number[][] = [];
  const { numRanks: R, slotsPerRank: S } = shape;
  // heat whose deviations do not persist (noise, random spikes) cannot be planned for episode by
  // episode: such a layer is planned as stationary — one shot, at the stationary price per transfer
  const allStats = Array.from({ length: shape.numLayers }, (_, l) => layerStats(heat, l, K - (K >> 1)));
  // the held-out stale test of every layer first: its noise is pooled over the layers
  const screens = K >= 4
    ? allStats.map((st, l) => heldOutScreen(heat, l, current[l], R, S, options.maxShots === undefined && !st.persists ? st.olderLevel : null))
    : [];
  const noise = pooledNoise(screens);
  const families = holmFamilies(screens, noise);
  // the layers judged by the one-window rule, their z (gain in counting se) and whether it moved
  // them: their threshold is read against the deployment's own layers when the loop is done
  const oneWindow: { layer: number; z: number; moved: boolean }[] = [];
  // the layers whose heat does not persist, judged without their bursts: is the map in service
  // fitted to the bursts it was planned on (one test over the deployment)
  const burstDiffs = K >= 4 && options.maxShots === undefined
    ? allStats.map((st, l) => (st.persists ? null : burstScreen(heat, l, current[l], screens[l].plan, R, S)))
    : [];
  const bursts: BurstVerdict = burstVerdict(burstDiffs);
  for (let l = 0; l < shape.numLayers; l++) {
    const stats = allStats[l];
    const persists = stats.persists;
    // drift is told by driftMap's own test (the halves' shares apart beyond the interleavings')
    // and confirmed on held-out episodes, whether or not the persistence test saw it: that test's
    // white-noise band is wide on a short window (±0.71 on 8 episodes), and drifting heat read as
    // noise there was planned as stationary
    const drift = driftMap(shape, heat, l, current[l], lambda, options);
    if (drift) {
      out.push(Array.from(drift));
      continue;
    }
    // such a layer: one shot of each expert's typical level, as is its held-out check
    const robust = options.maxShots === undefined && !persists ? stats : null;
    const pb = robust ? oneShot(shape, robust.level) : problem(shape, heat, l, w, options);
    if (pb.K === 1) {
      // one shot (heat that is stationary within the window, or a single window): the question
      // is only whether the map in service still fits it. A map whose traffic has gone (a new
      // workload, input length, phase of serving) is re-planned along its gain vs transfers
      // frontier, as far as its transfer budget allows and the noise lets gains be told apart;
      // one that still fits stays as it is (what a fresh plan would gain on it is noise). The
      // frontier is walked on one shot of the expected load, not on the seen episodes one by one:
      // the next interval's episodes carry noise of their own, which no plan can foresee, over
      // the mean load a plan can flatten — a walk fitted to the seen episodes' peaks fits their
      // noise and leaves the mean load less flat than a plain greedy re-plan does. What the
      // episodes do tell is how much each expert wanders, which the next peaks will feel: the
      // shot is the peak-aware heat about the mean. Where the heat does not persist, the typical
      // levels (trimmed means) still decide whether the layer is stale (the held-out screen and
      // the older half's move: a burst must not make the case for moving), but a layer shown
      // stale is walked about each expert's Huber location (huberLevel): the trim throws away
      // each expert's two highest and two lowest episodes whatever they hold, which on heat that
      // is merely noisy discards evidence the walk needs, while the Huber estimate is the mean
      // there and still holds a burst to a few sds
      let built: LayerProblem | null = null;
      const walked = (): LayerProblem => (built ??= oneShot(shape, peakAwareHeat(heat, l, R, S, w, robust ? huberLevel(heat, l, w) : undefined)));
      const screen = K >= 4 ? { test: screens[l], noise, layers: shape.numLayers, family: families[l] } : null;
      // the far end of the frontier: the exact search's plan, where the exact search runs (layers
      // of at most 32 experts, as in flash); beyond, a from-scratch plan is local search too, no
      // better than the walk from the map in service and far dearer
      const exact = shape.numExperts <= 32 ? () => searchFromScratch(walked(), options, 300_000) : undefined;
      const split = K - (K >> 1);
      const move: StaleMove = {
        walked,
        moved: () => oneShot(shape, meanShareHeat(heat, l, R, new Float64Array(K).fill(1))),
        // the older half's shot, built as the layer's own
        older: () => oneShot(shape, peakAwareHeat(heat.slice(0, split), l, R, S, decayWeights(split, options.halfLife ?? 2 * split), robust?.olderLevel)),
        budget: () => transferBudget(heat, l, current[l], R, S, budgetShare),
        ...(exact ? { target: exact } : {}),
      };
      const stale = staleVerdict(heat, l, current[l], R, S, move, screen, minGain);
      if (stale.row === null && robust && bursts.fitted) {
        // not stale, but fitted to old bursts: walked as a stale layer is, on the same shot of
        // each expert's typical level, as far as its budget allows
        const lowest = lowestWithinBudget(walked(), current[l], move.budget(), exact);
        if (notes) notes[l] = { basis: 'held-out', gain: bursts.gain, se: bursts.se, stale: lowest.row !== null };
        out.push(Array.from(lowest.row ?? current[l]));
        continue;
      }
      if (notes) notes[l] = { basis: stale.basis, gain: stale.gain, se: stale.se, stale: stale.row !== null };
      if (stale.basis === 'one-window') oneWindow.push({ layer: l, z: stale.se > 0 ? stale.gain / stale.se : 0, moved: stale.row !== null });
      out.push(Array.from(stale.row ?? current[l]));
      continue;
    }
    const st = new PlacementState(pb, current[l]);
    const f0 = st.objective() + pb.zeroEpisodesWeight();
    if (f0 <= 1 + threshold) {
      st.release();
      out.push(Array.from(current[l]));
      continue;
    }
    localSearch(st, searchLimits(pb, lambda, options, stationaryPrice));
    let best = st;
    if (pb.K > 1) {
      // several shots (phases): the search from the map in service fits the shots' mean heat
      // closely, by many small swaps that episode noise undoes; a sticky construction for the
      // shots (replicas stay unless moving pays; experts hot in different shots share a rank)
      // holds up better. Judged on the seen episodes one by one, not on the shot means they were
      // planned for (so a fit to the means alone does not win), net of λ per transfer
      const alt = stickyPlan(pb, current[l], lambda, options);
      const sa = episodeScore(heat, l, alt.slot, w, shape) + lambda * alt.transfers;
      const sb = episodeScore(heat, l, st.slot, w, shape) + lambda * st.transfers;
      if (sa < sb) best = alt;
      else alt.release();
      // several shots spend no more than a stale or drifting layer may (transferBudget): a plan
      // over the layer's budget gives way to the best point within it on the gain vs transfers
      // frontier from the map in service, for the same shots
      // (a plan that moves nothing is within any budget: no greedy re-plan to size it)
      const budget = best.transfers > 0 ? transferBudget(heat, l, current[l], R, S, budgetShare) : 0;
      if (best.transfers > budget) {
        const capped = new PlacementState(pb, lowestWithinBudget(pb, current[l], budget).row ?? current[l], current[l]);
        if (best !== st) best.release();
        best = capped;
      }
    }
    const gain = f0 - (best.objective() + pb.zeroEpisodesWeight());
    const pays = paysFor(gain, best.transfers, pb.K > 1 ? lambda : stationaryPrice, minGain);
    const confirmed = pays && heldOutConfirms(shape, heat, l, current[l], lambda, options, robust);
    out.push(confirmed ? Array.from(best.slot) : Array.from(current[l]));
    if (best !== st) best.release();
    st.release();
  }
  // a layer the one-window rule moved stays after all when its z does not clear the threshold
  // scaled by how much more than counting the layers that fit their map wander (oneWindowInflation)
  const zt = oneWindowZ(shape.numLayers);
  const inflation = oneWindowInflation(oneWindow.map((o) => o.z), zt);
  for (const o of oneWindow) {
    if (!o.moved || o.z > zt * inflation) continue;
    out[o.layer] = Array.from(current[o.layer]);
    if (notes?.[o.layer]) notes[o.layer] = { ...notes[o.layer], stale: false };
  }
  return out;
}

const DEFAULT_PHASE_PENALTY = 0.05;

/**
 * A layer's map for several shots from a construction that sticks to the map in service (a
 * replica moves to a rank that does not hold it only if that lowers the shots' expected peak by
 * more than options.phasePenalty of the mean rank load), polished by local search on F − λ·transfers.
 */
function stickyPlan(pb: LayerProblem, current: ArrayLike<number>, lambda: number, options: PolicyOptions): PlacementState {
  const reps = replicateMinMax(pb.hsum, pb.P, pb.R);
  const st = new PlacementState(pb, stickyConstruct(pb, reps, current, options.phasePenalty ?? DEFAULT_PHASE_PENALTY), current);
  localSearch(st, searchLimits(pb, lambda, options));
  return st;
}

const DEFAULT_DRIFT_RATIO = 10;
const DEFAULT_DRIFT_PENALTY = 0.05;

/**
 * default under drift: when a layer's heat is non-stationary (driftRatio above options.driftRatio,
 * default 10 — stationary layers stay within a few units, alternating ones far below 1), the map is
 * planned for a forecast of the next interval (planForDrift) instead of the past; it is taken only
 * if the same plan made without the newest quarter of the episodes, for that quarter, beats the
 * map in service on it by z standard errors (the check of heldOutConfirms). null: not drifting or not
 * confirmed.
 */
function driftMap(
  shape: DeploymentShape,
  heat: HeatEpisodes,
  layer: number,
  current: ArrayLike<number>,
  lambda: number,
  options: PolicyOptions,
): Int32Array | null {
  const K = heat.length;
  const threshold = options.driftRatio ?? DEFAULT_DRIFT_RATIO;
  if (K < 8 || !(threshold > 0) || !(driftRatio(heat, layer) > threshold)) return null;
  const { numRanks: R, slotsPerRank: S } = shape;
  const o: DriftPlanOptions = { shots: 4, penalty: options.driftPenalty ?? DEFAULT_DRIFT_PENALTY, lambda };
  const held = Math.max(2, K >> 2);
  // the held-out plan is for the held-out episodes, the horizon the check can see (a plan for the
  // next K − held episodes would be judged on its first quarter only)
  const older = planForDrift(heat, layer, K - held, R, S, current, { ...o, horizon: held });
  const z = Math.max(0, options.confirmZ ?? DEFAULT_CONFIRM_Z);
  if (!beatsByZ(heat, layer, K - held, K, current, older, shape, z)) return null;
  const plan = planForDrift(heat, layer, K, R, S, current, o);
  const budget = transferBudget(heat, layer, current, R, S, options.transferBudget ?? DEFAULT_TRANSFER_BUDGET);
  if (layerTransfers(current, plan, S) <= budget) return plan;
  // over budget: the best point within it on the frontier from the map in service for the same
  // forecast (the plan's sticky construction rebuilds ranks wholesale; the frontier moves a slot
  // at a time, the most gainful first)
  const shots = forecastShots(heat, layer, K, o.shots);
  const pb = new LayerProblem(shape.numExperts, R, S, shots.length, shots, new Float64Array(shots.length).fill(1 / shots.length));
  const path = searchPath(pb, current, pb.P);
  const i = bestWithin(path, budget, 0);
  return i > 0 ? path.rows[i] : null;
}

/**
 * Transfers a layer may spend when default re-plans it (a stale map, drift): `share` of those a
 * plain greedy re-plan of its window would make — the classic answer to a stale map, which moves
 * nearly every slot; "few moves" is a share of that, the operator's (options.transferBudget).
 */
function transferBudget(heat: HeatEpisodes, layer: number, current: ArrayLike<number>, R: number, S: number, share: number): number {
  return Math.floor(share * layerTransfers(current, greedyLayer(windowSum(heat, layer), R, S), S));
}

const DEFAULT_CONFIRM_Z = 1;

/**
 * The held-out check of default: is a layer's projected gain more than noise? The same search is
 * run from the map in service on the older half of the episodes only, and its map is scored
 * against the map in service on each episode of the newer half, which it has not seen (as the
 * next interval will be unseen). The layer is redeployed only if the mean per-episode gain there
 * exceeds z standard errors of the per-episode differences (z = 1: the one-standard-error rule) —
 * under stationary heat the planned gain is fitted noise and does not survive this; a phase
 * or drift that persists does. With fewer than 4 episodes there is no split and the check passes.
 */
function heldOutConfirms(
  shape: DeploymentShape,
  heat: HeatEpisodes,
  layer: number,
  current: ArrayLike<number>,
  lambda: number,
  options: PolicyOptions,
  robust: LayerStats | null = null,
): boolean {
  const K = heat.length;
  const z = options.confirmZ ?? DEFAULT_CONFIRM_Z;
  if (K < 4 || z < 0) return true;
  const half = K >> 1;
  const older = heat.slice(0, K - half);
  const newer = heat.slice(K - half).map((ep) => ep[layer]);
  const wA = decayWeights(older.length, options.halfLife ?? 2 * older.length);
  // the same problem as the layer's own: one robust shot when its heat does not persist
  const pbA = robust ? oneShot(shape, robust.olderLevel) : problem(shape, older, layer, wA, options);
  const st = new PlacementState(pbA, current);
  localSearch(st, searchLimits(pbA, lambda, options, options.stationaryGainPerTransfer ?? DEFAULT_STATIONARY_GAIN_PER_TRANSFER));
  const ok = beatsByZ(heat, layer, K - half, K, current, st.slot, shape, z);
  st.release();
  return ok;
}

/** Σ_k w_k · imbalance of `row` on episode k of a layer (w sums to 1; an all-zero episode counts 1). */
function episodeScore(heat: HeatEpisodes, layer: number, row: ArrayLike<number>, w: Float64Array, shape: DeploymentShape): number {
  const { numRanks: R, slotsPerRank: S, numExperts: E } = shape;
  const P = R * S;
  const reps = new Int32Array(E);
  for (let p = 0; p < P; p++) reps[row[p]]++;
  let f = 0;
  for (let k = 0; k < heat.length; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (total <= 0) {
      f += w[k];
      continue;
    }
    let m = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let load = 0;
      for (let j = 0; j < S; j++, p++) load += h[row[p]] / reps[row[p]];
      if (load > m) m = load;
    }
    f += (w[k] * m * R) / total;
  }
  return f;
}

/**
 * Whether map `next` beats `current` on episodes [from, to) of a layer by more than z standard
 * errors: d_k = per-episode imbalance under current − under next, mean(d) > max(0, z·se(d)).
 */
function beatsByZ(
  heat: HeatEpisodes,
  layer: number,
  from: number,
  to: number,
  current: ArrayLike<number>,
  next: ArrayLike<number>,
  shape: DeploymentShape,
  z: number,
): boolean {
  const { numRanks: R, slotsPerRank: S, numExperts: E } = shape;
  const P = R * S;
  const n = to - from;
  // per-slot share 1/replicas for both maps
  const reps = new Int32Array(2 * E);
  for (let p = 0; p < P; p++) {
    reps[current[p]]++;
    reps[E + next[p]]++;
  }
  const shareCur = new Float64Array(P), shareNew = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    shareCur[p] = 1 / reps[current[p]];
    shareNew[p] = 1 / reps[E + next[p]];
  }
  let sum = 0, sq = 0;
  for (let k = from; k < to; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (total <= 0) continue; // imbalance 1 under both maps: difference 0
    let mCur = 0, mNew = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let lc = 0, ln = 0;
      for (let j = 0; j < S; j++, p++) {
        lc += h[current[p]] * shareCur[p];
        ln += h[next[p]] * shareNew[p];
      }
      if (lc > mCur) mCur = lc;
      if (ln > mNew) mNew = ln;
    }
    const d = ((mCur - mNew) * R) / total; // per-episode imbalance: max / mean rank load
    sum += d;
    sq += d * d;
  }
  const mean = sum / n;
  const variance = Math.max(0, sq / n - mean * mean) * (n / Math.max(1, n - 1));
  return mean > 0 && mean > z * Math.sqrt(variance / n);
}

