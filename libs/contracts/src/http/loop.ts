/** GET /v1/deployments/{id}/loop: the deployment's mode and what the automatic loop last decided, and why. */
export interface LoopStatusResponse {
  deployment: string;
  mode: string;
  modeSince: string;
  maxAutoRolloutsPerHour: number;
  /** null: the loop has not looked at this deployment (observe mode, or not yet). */
  lastDecision: { kind: string; reason: string; at: string } | null;
}
