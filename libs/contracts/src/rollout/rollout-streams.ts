import type { RolloutOutcome } from '@eplb/domain';
/**
 * Where rollouts live in the event store (table `events`), shared by the API (which records
 * requests) and the rollout service (which drives them):
 * - `rollouts:<deployment>` — the deployment's rollout history, folded by the deployment-rollouts
 *   projection of @eplb/persistence: requested, control-requested (pause/resume/abort/promote),
 *   rejected, started, layer-committed (the version every rank of a layer is on from then), finished,
 *   version-discarded (the automatic loop's refusal of a stale map version), emergency-planned,
 *   outcome-measured (imbalance on the interval before vs the first one after, and the projection).
 * - `rollout:<rolloutId>` — the state machine's own events (`rollout.created`, `rollout.decided`,
 *   `rollout.ack`, `rollout.operator`, `rollout.analysis`, `rollout.restarted`), payload = the
 *   RolloutEvent of `@eplb/domain`; replaying them rebuilds the rollout's state.
 */
export const deploymentRolloutsStream = (deployment: string): string => `rollouts:${deployment}`;
export const rolloutStream = (rolloutId: string): string => `rollout:${rolloutId}`;
export const DEPLOYMENT_ROLLOUTS_PREFIX = 'rollouts:';

export const ROLLOUT_EVENTS = {
  requested: 'rollout.requested',
  controlRequested: 'rollout.control-requested',
  rejected: 'rollout.rejected',
  started: 'rollout.started',
  layerCommitted: 'rollout.layer-committed',
  finished: 'rollout.finished',
  /** The automatic loop will not deploy a map version (planned against a map no longer in service): once per version, with why. */
  versionDiscarded: 'rollout.version-discarded',
  /** Lost ranks were planned around: which, why, and the emergency map version (null when the map in service already served without them). */
  emergencyPlanned: 'rollout.emergency-planned',
  /** What a finished rollout achieved, measured on the heat (written once the interval after is sealed). */
  outcomeMeasured: 'rollout.outcome-measured',
} as const;

/**
 * Actors of the automatic loop's events: the scheduler approving a proposal in auto mode (its map
 * version's creator), and the rollout service's loop requesting, discarding, or tripping back to
 * approve mode.
 */
export const LOOP_ACTORS = { approver: 'scheduler:auto', deployer: 'loop:auto', emergency: 'loop:emergency' } as const;

export const ROLLOUT_CONTROL_ACTIONS = ['pause', 'resume', 'abort', 'promote'] as const;
export type RolloutControlAction = (typeof ROLLOUT_CONTROL_ACTIONS)[number];

/** A batch step as the API takes it (Argo-style): a layer count or 'rest', optionally gated. */
export type RolloutStepInput = number | 'rest' | { layers: number | 'rest'; analysis?: boolean };

export interface RolloutRequestedPayload {
  readonly rolloutId: string;
  readonly mapVersion: number;
  readonly steps?: RolloutStepInput[];
  readonly onFailure?: 'rollback' | 'hold';
  /** Cap on the bytes each agent sends per second (weights moved between ranks). */
  readonly bytesPerSecond?: number;
  /** Layers in flight at once for this rollout (1 = one after the other); absent: the service's ROLLOUT_WINDOW. */
  readonly window?: number;
  /** Queued although nodes it needs had no live agent (the operator forced it). */
  readonly forced?: boolean;
  /** Requested by the automatic loop (auto mode), not by an operator: its rollback trips the loop's breaker. */
  readonly automatic?: boolean;
  /** The map version's policy run, when it came from a proposal. */
  readonly runId?: string;
  /** An emergency map around lost ranks: rolled out before anything else, without analysis gates. */
  readonly emergency?: { readonly lostRanks: readonly number[] };
  /**
   * The asking request's own correlation id when the request event carries the map version's
   * chain instead (see intervalCorrelationId).
   */
  readonly requestId?: string;
}

/**
 * `rollout.outcome-measured`: what a finished rollout achieved as the collector measured it, or
 * why that cannot be measured (`outcome` null, `why` says).
 */
export interface RolloutOutcomePayload {
  readonly rolloutId: string;
  readonly status: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly outcome: RolloutOutcome | null;
  readonly why: string | null;
}

export interface RolloutControlPayload {
  readonly rolloutId: string;
  readonly action: RolloutControlAction;
  /** abort only: roll committed layers back (default: the rollout's onFailure) or hold them. */
  readonly rollback?: boolean;
}

/**
 * The agent registry (Redis hash `eplb:agents:<deployment>`, field = node): what the rollout
 * service last heard from each agent of the deployment — written by every instance an agent talks
 * to, read by the API (`GET /v1/deployments/{id}/agents`).
 */
export const agentRegistryKey = (deployment: string): string => `eplb:agents:${deployment}`;

export interface AgentRegistryEntry {
  readonly node: number;
  readonly ranks: number[];
  /** Epoch ms of the last heartbeat, holdings report or ack (either transport). */
  readonly lastSeenMs: number;
  /** The agent had a control connection open when this was written. */
  readonly connected: boolean;
  /** Token name the agent authenticated with on the control channel (null: heard only over Kafka). */
  readonly principal: string | null;
  /** Per map version, how many layers the agent's last holdings report put on it. */
  readonly heldVersions: Record<string, number> | null;
  /** Ranks of the node the agent last reported gone (absent: none reported). */
  readonly lostRanks?: number[];
}
