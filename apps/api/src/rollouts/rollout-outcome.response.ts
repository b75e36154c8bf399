import { ROLLOUT_EVENTS, RolloutOutcomeResponse } from '@eplb/contracts';
import type { DeploymentRollouts, StoredEvent } from '@eplb/persistence';

/** A rollout's recorded outcome as the API shows it (null: none recorded yet). */
export function toRolloutOutcomeResponse(view: DeploymentRollouts, events: readonly StoredEvent[], rolloutId: string): RolloutOutcomeResponse | null {
  const o = view.outcomes.get(rolloutId);
  if (!o) return null;
  const at = events.find((e) => e.type === ROLLOUT_EVENTS.outcomeMeasured && e.payload.rolloutId === rolloutId)?.occurredAt;
  return { measured: o.outcome, why: o.why, recordedAt: (at ?? new Date(0)).toISOString() };
}
