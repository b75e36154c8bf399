import type { RolloutStepInput } from '../rollout/rollout-streams';

/** `POST /v1/deployments/{id}/rollouts`. */
export interface StartRolloutRequest {
  mapVersion: number;
  steps?: RolloutStepInput[];
  onFailure?: 'rollback' | 'hold';
  /** Cap on the bytes each agent takes in per second during this rollout. */
  bytesPerSecond?: number;
  /** Layers in flight at once (1 = one after the other); absent: the rollout service's default. */
  window?: number;
  reason: string;
  /** Queue it even when nodes it needs have no live agent (refused with 409 naming them, `nodes`, otherwise). */
  force?: boolean;
}

/** `POST .../rollouts/{rid}/{action}`; `rollback: false` makes an abort keep committed layers. */
export interface RolloutControlRequest {
  reason: string;
  rollback?: boolean;
}
