import { LayerPlacement } from '../expert-map/physical-to-logical';
import { imbalance } from '../heat/imbalance';

/**
 * What a rollout changed with the traffic held fixed: the interval after's own logical heat
 * modelled under the map the rollout found and under the map it left (a logical expert's load
 * shared evenly by its replicas, as a policy projects). The measured before → after moves with the
 * traffic as well: on heat that drifts or alternates, a map that helped can measure worse than the
 * interval before it did. This pair cannot: both figures are of the same episodes.
 */
export interface SameHeatOutcome {
  /** Episodes of the interval after whose logical heat was modelled. */
  readonly episodes: number;
  /** Mean over layers of the mean per-episode modelled imbalance under the map the rollout found. */
  readonly previousMap: number;
  /** The same under the map it left. */
  readonly newMap: number;
  /** previousMap − newMap (positive: the rollout helped on this heat). */
  readonly gain: number;
}

export interface SameHeatInput {
  /** Per episode of the interval after, per layer its logical heat (tokens per logical expert). */
  readonly episodes: readonly { readonly logicalLoad: readonly ArrayLike<number>[] }[];
  /** Per layer, the row (physical slot → logical expert) the rollout found and the one it left. */
  readonly previousRows: readonly LayerPlacement[];
  readonly newRows: readonly LayerPlacement[];
  readonly numRanks: number;
  readonly slotsPerRank: number;
}

/** The interval after modelled under both maps; null when it has no episode with logical heat. */
export function sameHeatOutcome(i: SameHeatInput): SameHeatOutcome | null {
  const L = i.previousRows.length;
  if (i.newRows.length !== L) throw new RangeError(`sameHeatOutcome: ${L} previous rows against ${i.newRows.length} new ones`);
  if (i.episodes.length === 0 || L === 0) return null;
  let previous = 0;
  let next = 0;
  for (let l = 0; l < L; l++) {
    let p = 0;
    let n = 0;
    for (const e of i.episodes) {
      const h = e.logicalLoad[l];
      if (!h) throw new RangeError(`sameHeatOutcome: an episode has no logical heat for layer ${l}`);
      p += imbalance(i.previousRows[l], h, i.numRanks, i.slotsPerRank);
      n += imbalance(i.newRows[l], h, i.numRanks, i.slotsPerRank);
    }
    previous += p / i.episodes.length;
    next += n / i.episodes.length;
  }
  const previousMap = previous / L;
  const newMap = next / L;
  return { episodes: i.episodes.length, previousMap, newMap, gain: previousMap - newMap };
}
