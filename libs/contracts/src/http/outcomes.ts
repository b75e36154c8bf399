import type { RolloutOutcome } from '@eplb/domain';
import type { RolloutDetail, RolloutListItem, RolloutListResponse } from './rollouts';

/**
 * The measured outcome of a finished rollout as the rollout API shows it (`outcome` of
 * GET .../rollouts and .../rollouts/{rid}): the collector's imbalance on the interval before vs
 * the first interval wholly after, per layer and overall, beside the proposal's projection.
 */
export interface RolloutOutcomeResponse {
  /** The figures (null: not measurable, `why` says). */
  measured: RolloutOutcome | null;
  why: string | null;
  recordedAt: string;
}

/** GET .../rollouts/{rid}: `outcome` null until the rollout finished and the interval after it was sealed. */
export type RolloutDetailWithOutcome = RolloutDetail & { outcome: RolloutOutcomeResponse | null };

export type RolloutListItemWithOutcome = RolloutListItem & { outcome: RolloutOutcomeResponse | null };

/** GET .../rollouts with each rollout's outcome. */
export type RolloutListWithOutcomesResponse = Omit<RolloutListResponse, 'items'> & { items: RolloutListItemWithOutcome[] };
