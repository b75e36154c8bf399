import type { RolloutAgentCommand } from './machine';

/**
 * Agent-side bookkeeping that makes rollout commands idempotent: per (rollout, layer) the highest
 * attempt seen and how far it got. Commands arrive at least once, possibly late and out of order;
 * `admit` says whether to run one, answer again with the recorded outcome, refuse or drop it.
 */
export type LedgerPhase = 'preparing' | 'prepared' | 'failed' | 'committed' | 'aborted';

export interface LedgerEntry {
  readonly attempt: number;
  readonly phase: LedgerPhase;
  readonly error?: string;
}

export type LedgerAdmission =
  /** Run it (and record the outcome with `record`). */
  | { readonly action: 'execute' }
  /** Already done: answer again with the recorded outcome. */
  | { readonly action: 'replay'; readonly ok: boolean; readonly error?: string }
  /** Cannot run it (e.g. a commit of an attempt this agent never prepared): answer not ok. */
  | { readonly action: 'refuse'; readonly error: string }
  /** Stale, or still running: say nothing. */
  | { readonly action: 'drop'; readonly why: string };

export function admitCommand(entry: LedgerEntry | undefined, cmd: Pick<RolloutAgentCommand, 'kind' | 'attempt'> & { readonly repair?: boolean }): LedgerAdmission {
  const a = cmd.attempt;
  if (entry && a < entry.attempt) return { action: 'drop', why: `attempt ${a} is older than ${entry.attempt}` };
  const same = entry !== undefined && entry.attempt === a;
  switch (cmd.kind) {
    case 'prepare':
      if (!same) return { action: 'execute' };
      // a repair stages again what this agent could not commit; if a late copy of the commit got
      // through meanwhile, say the layer is past staging, so the commit is sent (and answered) again
      if (cmd.repair && (entry.phase === 'prepared' || entry.phase === 'failed')) return { action: 'execute' };
      if (cmd.repair && entry.phase === 'committed') return { action: 'replay', ok: true };
      switch (entry.phase) {
        case 'preparing':
          return { action: 'drop', why: 'prepare already running' };
        case 'prepared':
          return { action: 'replay', ok: true };
        case 'failed':
          return { action: 'replay', ok: false, error: entry.error ?? 'prepare failed' };
        default:
          return { action: 'drop', why: `attempt ${a} is ${entry.phase}` };
      }
    case 'commit':
      if (!same) return { action: 'refuse', error: `attempt ${a} was not prepared here` };
      switch (entry.phase) {
        case 'prepared':
          return { action: 'execute' };
        case 'committed':
          return { action: 'replay', ok: true };
        default:
          return { action: 'refuse', error: `attempt ${a} is ${entry.phase}` };
      }
    case 'abort':
      if (same && entry.phase === 'committed') return { action: 'drop', why: 'already committed' };
      if (same && entry.phase === 'aborted') return { action: 'replay', ok: true };
      return { action: 'execute' };
  }
}

/** The entry after a command ran (or started, for prepare). */
export const ledgerEntry = (attempt: number, phase: LedgerPhase, error?: string): LedgerEntry => ({
  attempt,
  phase,
  ...(error ? { error } : {}),
});
