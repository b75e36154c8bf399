import type { AgentPlanPart, LayerHoldings } from '@eplb/domain';

/**
 * The device-collective backend an agent drives to roll out a layer. One instance serves the ranks
 * of one node. The rollout protocol around it (attempts, acks, idempotency) is the agent's; the backend
 * only moves and swaps weights:
 * - prepare: stage the part's incoming expert weights for `layer` (local copies, peer transfers)
 *   while the engine keeps serving on the current weights; resolves once everything is staged.
 *   A second prepare of the same layer replaces what was staged.
 * - commit: swap the staged slots in at a step boundary, atomically for this node's ranks, and
 *   route by the part's row from then on. Committing a layer with nothing staged after it was
 *   committed once is a no-op (commands may be delivered twice).
 * - abort: drop what was staged (and stop a running prepare); the current weights stay.
 * - describe: what each rank holds per layer, checksums computed from the weights themselves.
 */
export interface DeviceBackend {
  /**
   * `opts.bytesPerSecond`: cap on the bytes this prepare takes in per second (the rollout's cap).
   * `opts.repair`: the commit of this layer was refused here (the staged weights are gone) while
   * peers may have swapped already: stage every incoming expert from the model checkpoint.
   */
  prepare(layer: number, part: AgentPlanPart, opts?: { bytesPerSecond?: number; repair?: boolean }): Promise<void>;
  commit(layer: number): Promise<void>;
  abort(layer: number): Promise<void>;
  describe(layers?: readonly number[]): Promise<{ layers: LayerHoldings[] }>;
  /** Ranks of this node that are gone (device lost, engine worker dead); the agent reports them. Absent: it cannot tell. */
  lostRanks?(): number[];
}
