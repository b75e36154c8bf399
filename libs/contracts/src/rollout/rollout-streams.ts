/**
 * Where rollouts live in the event store (table `events`), shared by the API (which records
 * requests) and the rollout service (which drives them):
 * - `rollouts:<deployment>` — the deployment's rollout history and its committed-map read model:
 *   requested, control-requested (pause/resume/abort/promote), rejected, started,
 *   layer-committed (the version every rank of a layer is on from then), finished.
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
} as const;

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
}

export interface RolloutControlPayload {
  readonly rolloutId: string;
  readonly action: RolloutControlAction;
  /** abort only: roll committed layers back (default: the rollout's onFailure) or hold them. */
  readonly rollback?: boolean;
}

/** The slice of a stored event the fold needs (StoredEvent of @eplb/persistence fits). */
export interface RolloutStreamEvent {
  readonly id: string;
  readonly stream: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

export interface RolloutRequestRecord {
  readonly eventId: string;
  readonly payload: RolloutRequestedPayload;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

export interface RolloutControlRecord {
  readonly eventId: string;
  readonly payload: RolloutControlPayload;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

/**
 * Read model of one deployment's rollouts, folded from its `rollouts:<deployment>` stream:
 * requests and their fate, operator controls, and the committed map (per layer, the version
 * every rank is on; layers never rolled out are on `baseVersion`).
 */
export class DeploymentRollouts {
  readonly requests = new Map<string, RolloutRequestRecord>();
  readonly rejected = new Map<string, string>();
  readonly started = new Map<string, { fromVersion: number; toVersion: number }>();
  readonly finished = new Map<string, { status: string; failure: unknown }>();
  readonly controls: RolloutControlRecord[] = [];
  readonly committed = new Map<number, number>();
  private readonly seen = new Set<string>();

  constructor(readonly deployment: string) {}

  apply(e: RolloutStreamEvent): void {
    if (this.seen.has(e.id)) return;
    this.seen.add(e.id);
    const p = e.payload as Record<string, any>;
    const meta = { eventId: e.id, actor: e.actor, reason: e.reason, correlationId: e.correlationId };
    switch (e.type) {
      case ROLLOUT_EVENTS.requested:
        this.requests.set(p.rolloutId, { ...meta, payload: p as RolloutRequestedPayload });
        break;
      case ROLLOUT_EVENTS.controlRequested:
        this.controls.push({ ...meta, payload: p as RolloutControlPayload });
        break;
      case ROLLOUT_EVENTS.rejected:
        this.rejected.set(p.rolloutId, String(p.why ?? e.reason));
        break;
      case ROLLOUT_EVENTS.started:
        this.started.set(p.rolloutId, { fromVersion: p.fromVersion, toVersion: p.toVersion });
        break;
      case ROLLOUT_EVENTS.layerCommitted:
        this.committed.set(p.layer, p.version);
        break;
      case ROLLOUT_EVENTS.finished:
        this.finished.set(p.rolloutId, { status: p.status, failure: p.failure ?? null });
        break;
    }
  }

  /** The rollout being driven (started, not finished), if any. */
  active(): string | null {
    for (const rid of this.started.keys()) if (!this.finished.has(rid)) return rid;
    return null;
  }

  /** Requests neither rejected nor started, oldest first. */
  pending(): RolloutRequestRecord[] {
    return [...this.requests.values()].filter((r) => !this.rejected.has(r.payload.rolloutId) && !this.started.has(r.payload.rolloutId));
  }

  /** Per layer the committed version (length `layers`). */
  committedVersions(layers: number, baseVersion = 1): number[] {
    return Array.from({ length: layers }, (_, l) => this.committed.get(l) ?? baseVersion);
  }
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
}
