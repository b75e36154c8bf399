/**
 * Which rollout commands an agent still takes. Every command names the fence generation of the
 * service instance that sent it (its hold of the deployment's rollout lock), its rollout's place
 * in the deployment's start order and when it expires. The agent keeps the newest (generation,
 * rollout) it accepted for its deployment and refuses an expired command, one from an older lock
 * holder, and one of a rollout older than the newest: a captured prepare, commit or abort replayed
 * later, or sent late by an instance that lost the lock, changes nothing. Within a rollout the
 * agent's ledger orders the attempts of each layer (agent-ledger.ts).
 */
export interface CommandOrder {
  /** The sender's fence generation. */
  readonly generation: number;
  /** The rollout's place in the deployment's start order (1 = the first rollout ever started). */
  readonly rolloutSeq: number;
}

export type CommandFreshness = { readonly fresh: true; readonly newest: CommandOrder } | { readonly fresh: false; readonly why: string };

/**
 * Whether a command is still to be taken at `now` (epoch ms), and the newest order after it.
 * `takenSince`: when the agent began taking commands; while it has no record of one it took
 * (`newest` null: a first start, or no durable state), a command sent before then is refused —
 * it may be a capture of what an earlier run of the agent already did (the service re-sends what
 * is still due, so a live rollout goes on).
 */
export function admitCommandOrder(newest: CommandOrder | null, cmd: CommandOrder & { readonly expiresAt: number; readonly sentAt: number }, now: number, takenSince = 0): CommandFreshness {
  if (cmd.expiresAt <= now) return { fresh: false, why: `expired ${now - cmd.expiresAt} ms ago` };
  if (newest === null && cmd.sentAt < takenSince) return { fresh: false, why: `sent ${takenSince - cmd.sentAt} ms before this agent started, with no record of what it took before` };
  if (newest && cmd.generation < newest.generation) return { fresh: false, why: `fence generation ${cmd.generation} is older than ${newest.generation}` };
  // a holder only ever sends the deployment's newest rollout: an older one is a replay, whoever signed it
  if (newest && cmd.rolloutSeq < newest.rolloutSeq) return { fresh: false, why: `rollout #${cmd.rolloutSeq} is older than #${newest.rolloutSeq}` };
  return { fresh: true, newest: { generation: cmd.generation, rolloutSeq: cmd.rolloutSeq } };
}
