/**
 * The automatic loop's guard: given what is known of a deployment right now, should a map version
 * that the scheduler approved in `auto` mode be rolled out, wait, be discarded, or should the loop
 * stop itself and hand the deployment to an operator? Pure: the caller gathers the snapshot from
 * the event log and the heat history, records the decision as an event, and acts on it.
 *
 * The guards are those an operator expects of an automatic system that changes a serving model:
 * - one rollout at a time: a version approved while a rollout runs waits for it to finish;
 * - a version planned against a map that is no longer the one in service is discarded — its
 *   projections were made against other rows and say nothing about the map it would replace;
 * - a cool-down: no new automatic rollout until the previous one was judged (its analysis gate
 *   decided, or it had none) and a whole interval was measured under the map it left, so the next
 *   plan starts from heat that the new map produced;
 * - a cap on automatic rollouts per hour (a loop that keeps moving weights is itself a fault);
 * - no rollout to nodes whose agent is not live: it waits for them;
 * - a circuit breaker: an automatic rollout that ended rolled back (gate failed, agents failed), or
 *   failed holding its committed layers (`onFailure: 'hold'`), drops the deployment to `approve`, once per rollback — an operator who puts the deployment back
 *   in `auto` afterwards has decided, and the same rollback does not trip it again.
 */

export type LoopMode = 'observe' | 'approve' | 'auto';

/** How a finished rollout ended, as the loop needs to know it: `held` = failed with its committed layers held; `aborted` = an operator stopped it. */
export type FinishedOutcome = 'succeeded' | 'rolled-back' | 'aborted' | 'held';

export interface FinishedRollout {
  readonly rolloutId: string;
  readonly automatic: boolean;
  readonly outcome: FinishedOutcome;
  /** When the rollout service recorded its end (ms since epoch). */
  readonly finishedAt: number;
  /** True when every analysis gate of the rollout decided, or it had none. */
  readonly judged: boolean;
  /** Intervals measured wholly under the map the rollout left, stored after it finished (`intervalMeasuredUnder`). */
  readonly intervalsMeasuredAfter: number;
}

export interface ApprovedVersion {
  readonly version: number;
  /** The map version its proposal was planned against. */
  readonly parentVersion: number;
  readonly runId: string | null;
  /**
   * Nodes the rollout to it needs whose agent was not heard from lately: it waits for them rather
   * than sit in its first prepare until it times out (and trips the breaker). Empty or absent: all live.
   */
  readonly unreachableNodes?: readonly number[];
}

export interface LoopSnapshot {
  readonly now: number;
  readonly mode: LoopMode;
  /** When the deployment entered its current mode (ms since epoch). */
  readonly modeSince: number;
  /** The version every layer is committed on; null while layers are on different versions. */
  readonly inService: number | null;
  /** A rollout requested or running (not yet finished). */
  readonly rolloutInFlight: boolean;
  /** The newest map version approved automatically and not yet rolled out or discarded; null if none. */
  readonly approved: ApprovedVersion | null;
  readonly lastFinished: FinishedRollout | null;
  /** Start times of automatic rollouts (ms since epoch), any order. */
  readonly automaticStarts: readonly number[];
  readonly maxAutomaticPerHour: number;
}

export type LoopDecision =
  | { readonly kind: 'idle'; readonly reason: string }
  | { readonly kind: 'wait'; readonly reason: string; readonly until?: number }
  | { readonly kind: 'deploy'; readonly version: number; readonly reason: string }
  | { readonly kind: 'discard'; readonly version: number; readonly reason: string }
  | { readonly kind: 'trip'; readonly rolloutId: string; readonly reason: string };

export const HOUR_MS = 3_600_000;

export function decideAutoRollout(s: LoopSnapshot): LoopDecision {
  if (s.mode !== 'auto') return { kind: 'idle', reason: `mode ${s.mode}: operators deploy` };
  const last = s.lastFinished;
  if (last && last.automatic && (last.outcome === 'rolled-back' || last.outcome === 'held') && last.finishedAt >= s.modeSince) {
    const what = last.outcome === 'rolled-back' ? 'was rolled back' : 'failed and holds its committed layers';
    return {
      kind: 'trip',
      rolloutId: last.rolloutId,
      reason: `automatic rollout ${last.rolloutId} ${what}: the deployment goes to approve mode until an operator decides`,
    };
  }
  if (s.rolloutInFlight) return s.approved ? { kind: 'wait', reason: `v${s.approved.version} waits: a rollout is in progress` } : { kind: 'idle', reason: 'a rollout is in progress' };
  const next = s.approved;
  if (!next) return { kind: 'idle', reason: 'no approved version waiting' };
  if (s.inService === null) {
    return { kind: 'discard', version: next.version, reason: `v${next.version} was planned against v${next.parentVersion}, but layers are on different versions (a held rollout): an operator decides` };
  }
  if (next.parentVersion !== s.inService) {
    return { kind: 'discard', version: next.version, reason: `v${next.version} was planned against v${next.parentVersion}; v${s.inService} is in service` };
  }
  if (last && !last.judged) return { kind: 'wait', reason: `v${next.version} waits: rollout ${last.rolloutId} has not been judged yet` };
  if (last && last.intervalsMeasuredAfter < 1) {
    return { kind: 'wait', reason: `v${next.version} waits: no interval measured yet after rollout ${last.rolloutId}` };
  }
  if (s.maxAutomaticPerHour <= 0) return { kind: 'wait', reason: `v${next.version} waits: automatic rollouts are off (cap 0 per hour)` };
  const recent = s.automaticStarts.filter((t) => t > s.now - HOUR_MS).sort((a, b) => a - b);
  if (recent.length >= s.maxAutomaticPerHour) {
    const until = recent[recent.length - s.maxAutomaticPerHour] + HOUR_MS;
    return { kind: 'wait', reason: `v${next.version} waits: ${recent.length} automatic rollouts in the last hour (cap ${s.maxAutomaticPerHour})`, until };
  }
  const unreachable = next.unreachableNodes ?? [];
  if (unreachable.length > 0) {
    return { kind: 'wait', reason: `v${next.version} waits: no live agent on node${unreachable.length > 1 ? 's' : ''} ${unreachable.join(', ')}` };
  }
  return { kind: 'deploy', version: next.version, reason: `auto mode: v${next.version} planned against v${next.parentVersion}, which is in service` };
}
