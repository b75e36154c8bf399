/**
 * The analysis gate's decision: after a batch of layers commits, the imbalance the
 * collector measures on those layers must not be worse than before the rollout. Pure statistics
 * on per-episode figures; where the figures come from (Postgres) is the rollout service's business.
 *
 * Each episode contributes one number: the mean over the batch's layers of that episode's
 * measured imbalance (max rank load / mean rank load). Episodes are the unit because
 * heat is noisy per episode (hot sets alternate, spikes come and go) but roughly independent
 * between them, so the standard error of a mean over episodes is an honest noise yardstick.
 * Heat that drifts during the rollout moves the before/after comparison too: the paired gate
 * (`decidePairedImbalanceGate`) compares each episode with the previous map modelled on its heat.
 */

export interface EpisodeStats {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (0 when n < 2). */
  readonly sd: number;
  /** Standard error of the mean (0 when n < 2). */
  readonly se: number;
}

export interface ImbalanceGateOptions {
  /** Worse by at most this much (in imbalance ratio units) always passes: noise floor. */
  readonly minTolerance: number;
  /** Worse by at most this many standard errors of the difference passes. */
  readonly seMultiplier: number;
}

export const defaultImbalanceGateOptions: ImbalanceGateOptions = { minTolerance: 0.02, seMultiplier: 2 };

export interface ImbalanceGateResult {
  readonly verdict: 'pass' | 'fail';
  readonly before: EpisodeStats;
  readonly after: EpisodeStats;
  /** after.mean − before.mean (positive = worse); NaN without a baseline. */
  readonly change: number;
  /** Standard error of the difference of the means. */
  readonly se: number;
  /** The change allowed: max(minTolerance, seMultiplier · se). */
  readonly tolerance: number;
  readonly detail: string;
}

export function episodeStats(xs: readonly number[]): EpisodeStats {
  const n = xs.length;
  if (n === 0) return { n: 0, mean: NaN, sd: 0, se: 0 };
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  if (n < 2) return { n, mean, sd: 0, se: 0 };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  const sd = Math.sqrt(ss / (n - 1));
  return { n, mean, sd, se: sd / Math.sqrt(n) };
}

/** One episode's figure for a batch: the mean over `layers` of the per-layer imbalance. */
export function batchImbalance(perLayer: ArrayLike<number>, layers: readonly number[]): number {
  if (layers.length === 0) throw new RangeError('batchImbalance: no layers');
  let sum = 0;
  for (const l of layers) {
    const v = perLayer[l];
    if (v === undefined || !Number.isFinite(v)) throw new RangeError(`batchImbalance: no imbalance for layer ${l}`);
    sum += v;
  }
  return sum / layers.length;
}

const f3 = (x: number) => x.toFixed(3);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

/** How the measured figures after the commit read in a verdict's detail. */
const measuredAfter = (a: EpisodeStats): string => `mean per-episode imbalance ${f3(a.mean)} after the commit (${a.n} episodes, sd ${f3(a.sd)})`;

/** The verdict without any baseline episode: nothing to be worse than, so 'pass', said to be unmeasured. */
const passedUnmeasured = (before: EpisodeStats, after: EpisodeStats, se: number, detail: string): ImbalanceGateResult => ({
  verdict: 'pass',
  before,
  after,
  change: NaN,
  se,
  tolerance: NaN,
  detail: `${detail}; no episodes before the rollout to compare with: passed unmeasured`,
});

/** Mean `after` against mean `before`: the change, its Welch SE, the tolerance, the verdict and how it reads. */
function compareMeans(before: EpisodeStats, after: EpisodeStats, options: ImbalanceGateOptions) {
  const se = Math.sqrt(before.se * before.se + after.se * after.se);
  const tolerance = Math.max(options.minTolerance, options.seMultiplier * se);
  const change = after.mean - before.mean;
  const verdict: 'pass' | 'fail' = change > tolerance ? 'fail' : 'pass';
  const judgement = verdict === 'fail' ? 'worse by more than the tolerance' : change < -tolerance ? 'better' : 'within the tolerance';
  const why = `${judgement} (tolerance ${f3(tolerance)} = max(${options.minTolerance}, ${options.seMultiplier}·SE ${f3(se)}))`;
  return { se, tolerance, change, verdict, why };
}

/**
 * Decides the gate from per-episode figures before the rollout and after the batch committed:
 * 'fail' when the mean after exceeds the mean before by more than max(minTolerance, k · SE), SE
 * being the (Welch) standard error of the difference of the two means. Without any baseline
 * episode there is nothing to be worse than: 'pass', and the detail says it was unmeasured.
 * Callers decide how many episodes after the commit are enough (pending until then).
 */
export function decideImbalanceGate(
  before: readonly number[],
  after: readonly number[],
  options: ImbalanceGateOptions = defaultImbalanceGateOptions,
): ImbalanceGateResult {
  if (after.length === 0) throw new RangeError('decideImbalanceGate: no episodes after the commit');
  const b = episodeStats(before);
  const a = episodeStats(after);
  const measured = measuredAfter(a);
  if (b.n === 0) return passedUnmeasured(b, a, a.se, measured);
  const { se, tolerance, change, verdict, why } = compareMeans(b, a, options);
  const detail = `${measured} vs ${f3(b.mean)} before (${b.n} episodes, sd ${f3(b.sd)}): ${signed(change)}, ${why}`;
  return { verdict, before: b, after: a, change, se, tolerance, detail };
}

/** One episode for the paired gate: its measured batch imbalance and the previous map's, modelled on its logical heat. */
export interface PairedEpisode {
  readonly measured: number;
  readonly counterfactual: number;
}

/** `before` / `after` are the measured figures; `change` and `se` are those of the paired difference. */
export interface PairedImbalanceGateResult extends ImbalanceGateResult {
  /** Per episode measured − counterfactual before the rollout: the model's gap to the measurement on the old map. */
  readonly gapBefore: EpisodeStats;
  /** The same after the commit: how the new map does against the old one on the same heat (plus the model's gap). */
  readonly gapAfter: EpisodeStats;
  /** Mean counterfactual after the commit: what the previous map would have had on that heat. */
  readonly counterfactualAfter: number;
}

/**
 * The gate as a difference in differences, robust to heat that drifts during the rollout. The
 * logical heat of an episode does not depend on the placement, so each episode also carries the
 * previous map's modelled imbalance on it (the counterfactual). After the commit, measured −
 * counterfactual is the new map against the old one on the very same heat; before the rollout
 * (old map measured against old map modelled) it is the model's own gap to the measurement, which
 * is subtracted as calibration. change = mean gap after − mean gap before; 'fail' when it exceeds
 * max(minTolerance, k · SE), SE the Welch standard error of the two gap means. Heat that gets more
 * (or less) skewed moves measured and counterfactual together and cancels out.
 */
export function decidePairedImbalanceGate(
  before: readonly PairedEpisode[],
  after: readonly PairedEpisode[],
  options: ImbalanceGateOptions = defaultImbalanceGateOptions,
): PairedImbalanceGateResult {
  if (after.length === 0) throw new RangeError('decidePairedImbalanceGate: no episodes after the commit');
  const b = episodeStats(before.map((e) => e.measured));
  const a = episodeStats(after.map((e) => e.measured));
  const gapBefore = episodeStats(before.map((e) => e.measured - e.counterfactual));
  const gapAfter = episodeStats(after.map((e) => e.measured - e.counterfactual));
  const counterfactualAfter = a.mean - gapAfter.mean;
  const measured = measuredAfter(a);
  const counterfactual =
    `on the same heat the previous map would have had ${f3(counterfactualAfter)} after ` +
    `(modelled; measured − modelled ${signed(gapAfter.mean)}, sd ${f3(gapAfter.sd)})`;
  if (b.n === 0) return { ...passedUnmeasured(b, a, gapAfter.se, `${measured}; ${counterfactual}`), gapBefore, gapAfter, counterfactualAfter };
  const { se, tolerance, change, verdict, why } = compareMeans(gapBefore, gapAfter, options);
  const detail =
    `${measured} vs ${f3(b.mean)} before (${b.n} episodes, sd ${f3(b.sd)}); ${counterfactual}, ` +
    `and the model's gap on the old map before was ${signed(gapBefore.mean)} (sd ${f3(gapBefore.sd)}): ` +
    `paired change ${signed(change)}, ${why}`;
  return { verdict, before: b, after: a, change, se, tolerance, detail, gapBefore, gapAfter, counterfactualAfter };
}
