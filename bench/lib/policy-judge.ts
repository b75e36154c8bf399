/**
 * How the policy benches judge a map (bench:policy, bench:policy-heldout): a policy plans on what
 * it sees (heat and the map in service) and its map is judged on the next window, never seen —
 * the mean over its episodes and layers of the per-episode imbalance (max / mean rank load), and
 * the transfers against the map in service. The targets (docs/design.md, "How policies are
 * judged") are set against a greedy re-plan on the same seen window.
 */
import { HeatEpisodes, PolicyInput, PolicyResult, getPolicy, layerTransfers, meanEpisodeImbalance } from '@eplb/domain';

export interface Judged {
  /** Mean per-episode imbalance of the map on the next window. */
  readonly fut: number;
  /** Expert weights arriving at a rank that did not hold them, against the map in service (0 without one). */
  readonly transfers: number;
  /** Layers whose map differs from the one in service in at least one transfer. */
  readonly layersMoved: number;
  /** Wall time of the policy call, ms. */
  readonly ms: number;
  readonly result: PolicyResult;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Runs policy `name` on `input` and judges its map on `future`. */
export function judgePolicy(name: string, input: Omit<PolicyInput, 'options'>, future: HeatEpisodes): Judged {
  const t0 = now();
  const result = getPolicy(name)(input);
  return judgeResult(result, now() - t0, input, future);
}

/** Judges a policy's result (made from `input`) on `future`: one plan can be judged on several next windows. */
export function judgeResult(result: PolicyResult, ms: number, input: Omit<PolicyInput, 'options'>, future: HeatEpisodes): Judged {
  const { numRanks: R, slotsPerRank: S } = input.shape;
  const map = result.physicalToLogical;
  const perLayer = input.current ? map.map((row, l) => layerTransfers(input.current![l], row, S)) : [];
  return {
    fut: meanEpisodeImbalance(map, future, R, S),
    transfers: perLayer.reduce((s, t) => s + t, 0),
    layersMoved: perLayer.filter((t) => t > 0).length,
    ms,
    result,
  };
}

/** The map in service on the next window (no policy call). */
export const inServiceFuture = (input: Omit<PolicyInput, 'options'>, future: HeatEpisodes): number =>
  meanEpisodeImbalance(input.current!, future, input.shape.numRanks, input.shape.slotsPerRank);

/** (map − 1) / (yardstick − 1): the share of the yardstick's excess imbalance a map leaves (NaN when the yardstick is perfect). */
export const excessOver = (fut: number, yardstickFut: number): number => (yardstickFut > 1 ? (fut - 1) / (yardstickFut - 1) : NaN);

/** Share of the yardstick's transfers (NaN when it moves nothing). */
export const transferShare = (transfers: number, yardstickTransfers: number): number => (yardstickTransfers > 0 ? transfers / yardstickTransfers : NaN);

/**
 * Stationary traffic (the traffic the map in service was made for): never worse than that map on
 * the next window, and at most 5% of the yardstick's transfers.
 */
export const meetsStationary = (d: Pick<Judged, 'fut' | 'transfers'>, inService: number, yardstickTransfers: number): boolean =>
  d.fut <= inService + 1e-9 && d.transfers <= 0.05 * yardstickTransfers;

/**
 * Traffic that moved (a shift, drift, spikes, alternation): the excess at most `excessTarget` of
 * the yardstick's and, where transfers are bounded, at most a third of its transfers.
 */
export const meetsMoved = (d: Pick<Judged, 'fut' | 'transfers'>, y: Pick<Judged, 'fut' | 'transfers'>, excessTarget: number, bounded = true): boolean =>
  excessOver(d.fut, y.fut) <= excessTarget && (!bounded || d.transfers <= y.transfers / 3);

/**
 * What a held-back cut is judged against: the traffic its map was made for (same), or traffic that
 * moved since — a new workload (shift), a hot set that drifts on, hot sets that alternate, random
 * spikes.
 */
export type CutKind = 'same' | 'shift' | 'drift' | 'alternating' | 'spikes';

/**
 * The excess target of each kind of traffic that moved (docs/design.md, "How policies are judged"):
 * the share of the yardstick's excess a map may leave on the next window. Drift and alternation
 * come back (a forecast or the other hot set is known), so less is allowed than after a shift or
 * random spikes, which no plan can foresee.
 */
export const EXCESS_TARGET: Readonly<Record<Exclude<CutKind, 'same'>, number>> = { shift: 1, drift: 0.6, alternating: 0.4, spikes: 1 };

/** Whether a held-back cut meets the target of its kind (`inService`: the map in service on the next window). */
export const meetsKind = (kind: CutKind, d: Pick<Judged, 'fut' | 'transfers'>, y: Pick<Judged, 'fut' | 'transfers'>, inService: number): boolean =>
  kind === 'same' ? meetsStationary(d, inService, y.transfers) : meetsMoved(d, y, EXCESS_TARGET[kind]);

/** One held-back cut's judgement, as bench:policy-heldout writes it per cut (BENCH_HELDOUT_PER_CUT) and probes read it. */
export interface PerCut {
  readonly set: string;
  readonly kind: CutKind;
  readonly cut: string;
  readonly inService: number;
  readonly fut: number;
  readonly transfers: number;
  readonly greedyFut: number;
  readonly greedyTransfers: number;
  readonly met: boolean;
}
