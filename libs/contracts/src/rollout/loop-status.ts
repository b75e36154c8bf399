/**
 * What the automatic loop last decided for a deployment (Redis hash `eplb:loop:<deployment>`,
 * written by the rollout-service instance holding its lock, read by the API's
 * `GET /v1/deployments/{id}/loop`): why nothing deploys is as visible as what did.
 */
export const loopStatusKey = (deployment: string): string => `eplb:loop:${deployment}`;

export interface LoopStatusEntry {
  /** idle | wait | deploy | discard | trip (auto mode), emergency-wait | emergency (lost ranks). */
  readonly kind: string;
  readonly reason: string;
  /** Epoch ms of the decision. */
  readonly at: number;
  /** The rollout-service instance that decided. */
  readonly instance: string;
}
