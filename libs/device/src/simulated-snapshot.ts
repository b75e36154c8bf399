import type { AgentPlanPart, DeploymentShape } from '@eplb/domain';

/**
 * One slot's weights in a snapshot: the logical expert, the checksum of the bytes, and the bytes
 * themselves (base64) only when they are not the expert's deterministic weights (a corrupted
 * buffer must stay corrupted across a restart, or the check that catches it would be fooled).
 */
export interface SlotSnapshot {
  readonly expert: number;
  readonly checksum: string;
  readonly bytes?: string;
}

/**
 * What the simulated device memory holds, in a JSON-serialisable form (SimulatedBackend.snapshot
 * / restore): per layer the version and per rank the slots, the staged (prepared, not yet
 * committed) buffers with their plan part, and which layers were committed once.
 */
export interface SimulatedBackendSnapshot {
  readonly v: 1;
  readonly agent: number;
  readonly shape: DeploymentShape;
  readonly expertBytes: number;
  readonly layers: { readonly layer: number; readonly version: number; readonly ranks: { readonly rank: number; readonly slots: SlotSnapshot[] }[] }[];
  /** `rolloutId`: the rollout each was staged for (absent in snapshots saved before staging was named). */
  readonly staged: { readonly layer: number; readonly rolloutId?: string; readonly part: AgentPlanPart; readonly slots: (SlotSnapshot & { readonly slot: number })[] }[];
  readonly committedOnce: number[];
}
