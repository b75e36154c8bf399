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
 * Commit and abort name the rollout whose staging they act on (StagingOptions.rolloutId).
 * - describe: what each rank holds per layer, checksums computed from the weights themselves.
 */
export interface StagingOptions {
  readonly bytesPerSecond?: number;
  readonly repair?: boolean;
  /**
   * The rollout the staged weights are for: a commit or abort names it and touches only its own
   * staging, so a late or replayed abort of one rollout never clears another's staged weights.
   */
  readonly rolloutId?: string;
  /**
   * The layer's attempt: every agent gets the same for one prepare of a layer, so the ranks of a
   * collective backend derive the same transfer from it (the torch backend tags its P2P ops with
   * rollout, layer and attempt).
   */
  readonly attempt?: number;
}

export interface DeviceBackend {
  /**
   * `opts.bytesPerSecond`: cap on the bytes this prepare takes in per second (the rollout's cap).
   * `opts.repair`: the commit of this layer was refused here (the staged weights are gone) while
   * peers may have swapped already: stage every incoming expert from the model checkpoint.
   * `opts.rolloutId`: whose staging this is.
   */
  prepare(layer: number, part: AgentPlanPart, opts?: StagingOptions): Promise<void>;
  /** With `rolloutId`: only what that rollout staged is swapped in (another rollout's staging is refused). */
  commit(layer: number, rolloutId?: string): Promise<void>;
  /**
   * With `rolloutId`: only what that rollout staged (or is staging) is dropped; another rollout's staging stays.
   * With `attempt` too: that attempt and older ones only, and a prepare of them that reaches the
   * device after the abort (a backend that runs requests concurrently) does not start.
   */
  abort(layer: number, rolloutId?: string, attempt?: number): Promise<void>;
  describe(layers?: readonly number[]): Promise<{ layers: LayerHoldings[] }>;
  /** Ranks of this node that are gone (device lost, engine worker dead); the agent reports them. Absent: it cannot tell. */
  lostRanks?(): number[];
}
