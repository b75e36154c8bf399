import type { RolloutAccepted } from './rollouts';

/** POST .../runs/{run}/approve: the map version the proposal became, and its rollout when `deploy` asked for one. */
export interface ApprovalResponse {
  mapVersion: number;
  /** The rollout requested in the same call (`deploy: true`), with the deployment's rollout settings. */
  rollout?: RolloutAccepted;
}
