import { SameHeatOutcome } from './same-heat';

/**
 * What a rollout achieved, as the collector measured it: the mean per-episode imbalance (max /
 * mean rank load, the figure a policy run projects) on the last interval measured under the map
 * the rollout started from against the first interval measured wholly under the map it left — per
 * layer and over all layers — next to what the proposal projected for the same layers. Pure: the rollout service
 * gathers the episodes and the run's figures and records the result as an event.
 */

/**
 * One stored episode as the outcome reads it: per layer its measured imbalance and the version it
 * was on (0: mixed), and when the collector stored it (the database's clock). `startedAtMs` is the
 * worker's clock (its reports' `ts`): shown, never compared with the control plane's times.
 */
export interface OutcomeEpisode {
  readonly episode: number;
  readonly startedAtMs: number;
  readonly storedAtMs: number;
  readonly imbalance: readonly number[];
  readonly layerVersions: readonly number[];
}

/** A sealed interval: its number, time span and episodes. */
export interface OutcomeInterval {
  readonly interval: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly episodes: readonly OutcomeEpisode[];
}

/** What the policy run projected (its figures), when the version came from a run. */
export interface ProjectedFigures {
  readonly runId: string;
  readonly interval: number;
  readonly layers: readonly { readonly layer: number; readonly current: number; readonly candidate: number; readonly chosen: boolean }[];
}

export interface MeasuredInterval {
  readonly interval: number;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly episodes: number;
  /** Mean over layers of the per-layer means. */
  readonly imbalance: number;
}

export interface LayerOutcome {
  readonly layer: number;
  /** Measured mean per-episode imbalance on the interval before / after. */
  readonly before: number;
  readonly after: number;
  /** before − after (positive: better). */
  readonly gain: number;
  /** The proposal's projection for this layer (null: no run behind the version). */
  readonly projectedBefore: number | null;
  readonly projectedAfter: number | null;
  /** The rollout changed this layer. */
  readonly changed: boolean;
}

export interface RolloutOutcome {
  readonly before: MeasuredInterval;
  readonly after: MeasuredInterval;
  /** Overall before − after (positive: better). */
  readonly gain: number;
  /** Share of the excess over 1.0 removed: (before − after) / (before − 1); null when before is 1. */
  readonly excessRemoved: number | null;
  readonly layers: LayerOutcome[];
  /** The proposal's overall projection (means over layers), null when the version came from no run. */
  readonly projected: { readonly runId: string; readonly interval: number; readonly before: number; readonly after: number; readonly gain: number } | null;
  /**
   * The interval after modelled under the map the rollout found and the one it left (absent in
   * outcomes recorded before it was measured; null when the episodes carry no logical heat).
   */
  readonly onSameHeat?: SameHeatOutcome | null;
}

/** Which sealed intervals an outcome compares, or why none can be compared (yet or ever). */
export type OutcomeWindow =
  | { readonly kind: 'ready'; readonly before: OutcomeInterval; readonly after: OutcomeInterval }
  | { readonly kind: 'wait'; readonly why: string }
  | { readonly kind: 'unmeasurable'; readonly why: string };

/**
 * The map a stretch of heat is judged under: per layer the version the workers must have reported,
 * and from when (the database's clock, as the rollout's events and the collector's `stored_at`
 * are) its heat may have been stored.
 */
export interface MapUnder {
  readonly versions: readonly number[];
  readonly storedFromMs: number;
}

/**
 * An episode counts as heat of a map only if every layer was on the map's version throughout and
 * the collector stored it once that map could be in service. Workers' clocks take no part: a
 * worker ten minutes off stamps its reports ten minutes off, and a collector that is behind
 * stores old heat late — the versions the workers reported say which map they ran.
 */
export const episodeMeasuredUnder = (e: OutcomeEpisode, map: MapUnder): boolean =>
  e.storedAtMs >= map.storedFromMs && map.versions.every((v, l) => e.layerVersions[l] === v);

/** A sealed interval measured wholly under a map: it has episodes, and each is heat of that map. */
export const intervalMeasuredUnder = (i: OutcomeInterval, map: MapUnder): boolean => i.episodes.length > 0 && i.episodes.every((e) => episodeMeasuredUnder(e, map));

/**
 * Picks the interval after (the first sealed interval measured wholly under the versions the
 * rollout left, stored from its end on) and the interval before (the newest sealed interval ahead
 * of it measured wholly under the versions in service when it started, stored from the end of the
 * rollout before it on). Intervals are numbered by steps and sealed in order, so once the interval
 * after is sealed every candidate before it is too. Without an interval after, the outcome waits —
 * unless the next rollout's heat already followed this rollout's (an episode stored after the next
 * rollout started, off these versions, later in steps than heat under them): then none will come.
 */
export function outcomeWindow(
  intervals: readonly OutcomeInterval[],
  rollout: { readonly before: MapUnder; readonly after: MapUnder; readonly nextStartedAtMs: number | null },
): OutcomeWindow {
  const sorted = [...intervals].sort((a, b) => a.interval - b.interval);
  const after = sorted.find((i) => intervalMeasuredUnder(i, rollout.after));
  if (!after) {
    const next = rollout.nextStartedAtMs;
    if (next !== null) {
      const episodes = sorted.flatMap((i) => i.episodes);
      const firstUnder = Math.min(...episodes.filter((e) => episodeMeasuredUnder(e, rollout.after)).map((e) => e.episode));
      const superseded = episodes.some((e) => e.storedAtMs >= next && e.episode > firstUnder && !episodeMeasuredUnder(e, rollout.after));
      if (superseded) return { kind: 'unmeasurable', why: 'the next rollout started before an interval was measured under this one' };
    }
    return { kind: 'wait', why: 'no interval sealed wholly under the versions the rollout left yet' };
  }
  const before = sorted.filter((i) => i.interval < after.interval && intervalMeasuredUnder(i, rollout.before)).pop();
  if (!before) return { kind: 'unmeasurable', why: 'no interval was measured wholly under the versions in service before the rollout' };
  return { kind: 'ready', before, after };
}

/** Per layer, the mean over the interval's episodes of the measured imbalance. */
export function layerMeans(interval: OutcomeInterval, numLayers: number): number[] {
  const sums = new Array<number>(numLayers).fill(0);
  const counts = new Array<number>(numLayers).fill(0);
  for (const e of interval.episodes) {
    for (let l = 0; l < numLayers; l++) {
      const v = e.imbalance[l];
      if (v === undefined || !Number.isFinite(v)) continue;
      sums[l] += v;
      counts[l]++;
    }
  }
  return sums.map((s, l) => (counts[l] ? s / counts[l] : 1));
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 1);

const measured = (i: OutcomeInterval, means: readonly number[]): MeasuredInterval => ({
  interval: i.interval,
  startedAt: new Date(i.startedAtMs).toISOString(),
  endedAt: new Date(i.endedAtMs).toISOString(),
  episodes: i.episodes.length,
  imbalance: mean(means),
});

/** The outcome of a rollout from the two intervals it is judged on and the run's projection. */
export function rolloutOutcome(
  numLayers: number,
  before: OutcomeInterval,
  after: OutcomeInterval,
  changedLayers: readonly number[],
  projected: ProjectedFigures | null,
  onSameHeat: SameHeatOutcome | null = null,
): RolloutOutcome {
  const b = layerMeans(before, numLayers);
  const a = layerMeans(after, numLayers);
  const changed = new Set(changedLayers);
  const byLayer = new Map(projected?.layers.map((p) => [p.layer, p]) ?? []);
  const layers: LayerOutcome[] = b.map((x, l) => ({
    layer: l,
    before: x,
    after: a[l],
    gain: x - a[l],
    projectedBefore: byLayer.get(l)?.current ?? null,
    projectedAfter: byLayer.get(l)?.candidate ?? null,
    changed: changed.has(l),
  }));
  const mb = mean(b);
  const ma = mean(a);
  const p = projected && projected.layers.length ? { before: mean(projected.layers.map((x) => x.current)), after: mean(projected.layers.map((x) => x.candidate)) } : null;
  return {
    before: measured(before, b),
    after: measured(after, a),
    gain: mb - ma,
    excessRemoved: mb > 1 ? (mb - ma) / (mb - 1) : null,
    layers,
    projected: projected && p ? { runId: projected.runId, interval: projected.interval, before: p.before, after: p.after, gain: p.before - p.after } : null,
    onSameHeat,
  };
}

const signed = (gain: number): string => `${gain >= 0 ? '−' : '+'}${Math.abs(gain).toFixed(3)}`;

/**
 * One line for logs and launchers: `imbalance 1.412 → 1.118 (−0.294, 71% of the excess; projected
 * 1.398 → 1.102; on the heat after: 1.405 under the previous map, 1.101 under this one, −0.304)`.
 */
export function describeOutcome(o: RolloutOutcome): string {
  const excess = o.excessRemoved === null ? '' : `, ${Math.round(o.excessRemoved * 100)}% of the excess`;
  const projected = o.projected ? `; projected ${o.projected.before.toFixed(3)} → ${o.projected.after.toFixed(3)}` : '';
  const same = o.onSameHeat
    ? `; on the heat after: ${o.onSameHeat.previousMap.toFixed(3)} under the previous map, ${o.onSameHeat.newMap.toFixed(3)} under this one, ${signed(o.onSameHeat.gain)}`
    : '';
  return `imbalance ${o.before.imbalance.toFixed(3)} → ${o.after.imbalance.toFixed(3)} (${signed(o.gain)}${excess}${projected}${same})`;
}
