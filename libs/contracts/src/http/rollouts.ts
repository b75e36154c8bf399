import type { LayerStatus, RolloutLifecycleStatus } from '@eplb/domain';
import type { RolloutControlAction } from '../rollout/rollout-streams';

/**
 * The rollout API's responses (`/v1/deployments/{id}/rollouts`, `/agents`, `/rebalancing`), as the
 * API sends them: declared once here, returned by its use cases and read by its clients.
 */

/** POST .../rollouts (202): the request is recorded; the rollout service starts it. */
export interface RolloutAccepted {
  rolloutId: string;
  status: RolloutLifecycleStatus;
}

/** One rollout request in GET .../rollouts, oldest first. */
export interface RolloutListItem {
  rolloutId: string;
  mapVersion: number;
  /** The version most layers came from (null until the rollout started). */
  fromVersion: number | null;
  requestedBy: string;
  reason: string;
  status: RolloutLifecycleStatus;
  /** What ended the rollout when it failed (null otherwise). */
  failure: unknown;
  /** Why the service turned the request down (null unless REJECTED). */
  rejected: string | null;
  requestedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** GET .../rollouts: the deployment's rollouts and the version each layer is committed on. */
export interface RolloutListResponse {
  committedVersions: number[];
  /** A rollout is started and not finished. */
  rebalancing: boolean;
  items: RolloutListItem[];
}

/** One changed layer of a rollout: its status and the version every rank is on. */
export interface RolloutLayerDetail {
  layer: number;
  status: LayerStatus;
  /** null only while a commit is in flight. */
  version: number | null;
  /** What the last commit's holdings check found wrong (null: nothing). */
  verifyError: string | null;
}

/**
 * GET .../rollouts/{rid}. Before the rollout started only the request's fields, `status`
 * (REQUESTED or REJECTED), `rejected` and no layers; once started, what its event log replays to.
 */
export interface RolloutDetail {
  rolloutId: string;
  deployment: string;
  mapVersion: number;
  requestedBy: string;
  reason: string;
  status: RolloutLifecycleStatus;
  layers: RolloutLayerDetail[];
  /** Not started only: why it was rejected (null: not yet started). */
  rejected?: string | null;
  /** Started only, from here on. */
  fromVersion?: number;
  toVersion?: number;
  failure?: { reason: string; at: number } | null;
  onFailure?: 'rollback' | 'hold';
  promoted?: boolean;
  /** The analysis gate the rollout waits on (null: none). */
  gate?: { batch: number; requested: boolean; since: number } | null;
  /** The layer whose transition is in flight (null: none). */
  active?: number | null;
  ignoredAcks?: number;
}

/** POST .../rollouts/{rid}/{action} (202): the control is recorded; the rollout service applies it. */
export interface RolloutControlAccepted {
  rolloutId: string;
  action: RolloutControlAction;
  accepted: true;
}

/** One node's agent in GET .../agents. */
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

/** GET .../agents. */
export interface AgentsResponse {
  deployment: string;
  staleAfterMs: number;
  /** One per node of the deployment, in node order. */
  agents: AgentStatusResponse[];
}

/** POST .../agents/{node}/keys: a node's agent public key as registered by an operator. */
export interface AgentKeyResponse {
  deployment: string;
  node: number;
  /** The key as the rollout service verifies with it (base64 DER, SPKI). */
  publicKey: string;
  /** False when the node already had this very key registered the same way. */
  changed: boolean;
}

/** GET .../rebalancing: what a request router needs to know — is the expert map changing, and how far. */
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

/** One transition of one layer as the rollout's log tells it: sent at `startMs`, answered by every agent at `endMs`. */
export interface RolloutTimelineBar {
  layer: number;
  phase: 'prepare' | 'commit' | 'abort';
  /** `inverse`: part of rolling the layer back to the version it came from. */
  direction: 'forward' | 'inverse';
  attempt: number;
  startMs: number;
  /** null while agents have still to answer. */
  endMs: number | null;
  /** `open`: in flight; `failed`: an agent refused; `expired`: the deadline passed first. */
  outcome: 'ok' | 'failed' | 'expired' | 'open';
  /** What the refusing agent said, or which deadline passed. */
  error: string | null;
}

/** One batch of the plan and, when it is gated, the analysis asked for and its verdict. */
export interface RolloutTimelineBatch {
  index: number;
  layers: number[];
  analysis: boolean;
  gate: { requestedMs: number; verdictMs: number | null; passed: boolean | null; detail: string | null } | null;
}

/** `GET .../rollouts/{rid}/timeline`: the rollout's log folded into bars over time (empty before it started). */
export interface RolloutTimeline {
  rolloutId: string;
  startedMs: number | null;
  /** The newest event's time: where an unfinished bar is drawn up to. */
  lastEventMs: number | null;
  fromVersion: number | null;
  toVersion: number | null;
  /** Per changed layer, in rollout order: the experts it moves and their bytes. */
  layers: { layer: number; transfers: number; bytes: number }[];
  bytesPlanned: number;
  /** Bytes of the layers committed forward and not rolled back. */
  bytesMoved: number;
  bars: RolloutTimelineBar[];
  batches: RolloutTimelineBatch[];
  operator: { atMs: number; action: string; actor: string | null; reason: string | null }[];
}
