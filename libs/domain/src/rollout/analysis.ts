/**
 * The analysis gate's decision (issue 6): after a batch of layers commits, the imbalance the
 * collector measures on those layers must not be worse than before the rollout. Pure statistics
 * on per-episode figures; where the figures come from (Postgres) is the rollout service's business.
 *
 * Each episode contributes one number: the mean over the batch's layers of that episode's
 * measured imbalance (max rank load / mean rank load, DESIGN.md). Episodes are the unit because
 * heat is noisy per episode (hot sets alternate, spikes come and go) but roughly independent
 * between them, so the standard error of a mean over episodes is an honest noise yardstick.
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
  const measured = `mean per-episode imbalance ${f3(a.mean)} after the commit (${a.n} episodes, sd ${f3(a.sd)})`;
  if (b.n === 0) {
    return {
      verdict: 'pass',
      before: b,
      after: a,
      change: NaN,
      se: a.se,
      tolerance: NaN,
      detail: `${measured}; no episodes before the rollout to compare with: passed unmeasured`,
    };
  }
  const se = Math.sqrt(b.se * b.se + a.se * a.se);
  const tolerance = Math.max(options.minTolerance, options.seMultiplier * se);
  const change = a.mean - b.mean;
  const verdict = change > tolerance ? 'fail' : 'pass';
  const judgement = verdict === 'fail' ? 'worse by more than the tolerance' : change < -tolerance ? 'better' : 'within the tolerance';
  const detail =
    `${measured} vs ${f3(b.mean)} before (${b.n} episodes, sd ${f3(b.sd)}): ${signed(change)}, ${judgement} ` +
    `(tolerance ${f3(tolerance)} = max(${options.minTolerance}, ${options.seMultiplier}·SE ${f3(se)}))`;
  return { verdict, before: b, after: a, change, se, tolerance, detail };
}
