import type { LayerVersion, RolloutStatus } from '@eplb/domain';

/** `POST /v1/deployments/{id}/rollouts` (202): the request is recorded; the rollout service starts it. */
export interface RolloutAccepted {
  rolloutId: string;
  status: string;
}

/** A rollout as the deployment's history lists it. */
export interface RolloutListItem {
  rolloutId: string;
  mapVersion: number;
  /** The version the rollout started from; null until it started. */
  fromVersion: number | null;
  requestedBy: string;
  reason: string;
  /** REQUESTED, REJECTED, RUNNING, or the final status the rollout service recorded. */
  status: string;
  failure: { reason: string; at?: number } | null;
  rejected: string | null;
  requestedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** `GET /v1/deployments/{id}/rollouts`: rollouts oldest first, and the version each layer is committed on. */
export interface RolloutListResponse {
  committedVersions: number[];
  rebalancing: boolean;
  items: RolloutListItem[];
}

/** What every answer about one rollout carries: the request. */
export interface RolloutDetailBase {
  rolloutId: string;
  deployment: string;
  mapVersion: number;
  requestedBy: string;
  reason: string;
}

/** A rollout the service has not started (waiting, or rejected): no layers yet. */
export interface RolloutNotStarted extends RolloutDetailBase {
  status: string;
  rejected: string | null;
  layers: LayerVersion[];
}

/** A started rollout, replayed from its own event stream. */
export interface RolloutStarted extends RolloutDetailBase {
  fromVersion: number;
  toVersion: number;
  status: RolloutStatus;
  failure: { reason: string; at: number } | null;
  onFailure: 'rollback' | 'hold';
  promoted: boolean;
  gate: { batch: number; requested: boolean; since: number } | null;
  /** The layer whose transition is in flight. */
  active: number | null;
  layers: LayerVersion[];
  ignoredAcks: number;
}

/** `GET /v1/deployments/{id}/rollouts/{rid}`. */
export type RolloutDetail = RolloutNotStarted | RolloutStarted;

/** `POST .../rollouts/{rid}/{pause|resume|abort|promote}` (202): recorded for the rollout service. */
export interface RolloutControlAccepted {
  rolloutId: string;
  action: string;
  accepted: true;
}

export interface AgentStatusResponse {
  node: number;
  /** `connected`: on the direct control channel; `kafka-only`: heard over Kafka only; `stale`: not heard for a while; `missing`: never heard. */
  status: 'connected' | 'kafka-only' | 'stale' | 'missing';
  ranks: number[];
  lastSeen: string | null;
  /** Milliseconds since the agent was last heard from. */
  ageMs: number | null;
  /** The token the agent authenticated with on the control channel. */
  principal: string | null;
  /** Per map version, how many layers the agent's last holdings report put on it. */
  heldVersions: Record<string, number> | null;
}

/** `GET /v1/deployments/{id}/agents`. */
export interface AgentsResponse {
  deployment: string;
  staleAfterMs: number;
  /** One per node of the deployment, in node order. */
  agents: AgentStatusResponse[];
}

/** `GET /v1/deployments/{id}/rebalancing`: what a request router needs — is the map changing, and how far. */
export interface RebalancingResponse {
  deployment: string;
  /** A rollout started and not finished. */
  rebalancing: boolean;
  rolloutId: string | null;
  fromVersion: number | null;
  toVersion: number | null;
  /** Layers of the rollout on `toVersion` now (rolled-back layers are not). */
  layersCommitted: number;
  /** Layers the rollout changes. */
  layersTotal: number;
  /** When the rollout started. */
  since: string | null;
  /** Per layer, the version every rank is on (committed read model). */
  layerVersions: number[];
}
