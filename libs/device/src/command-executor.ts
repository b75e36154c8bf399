import { LayerHoldings, LedgerEntry, RolloutAck, RolloutAgentCommand, admitCommand, ledgerEntry } from '@eplb/domain';
import { DeviceBackend } from './backend';

/**
 * Runs rollout commands for one agent on its device backend, idempotently (the agent side of the
 * protocol): per layer the highest attempt seen and its outcome; repeated commands answer again,
 * stale ones are dropped, a commit of an attempt not prepared here is refused. Commit acks carry
 * what the ranks hold after the swap. apps/agent wraps this with its transport and persistence.
 */
export class CommandExecutor {
  private readonly ledger = new Map<number, LedgerEntry>();
  /** Layers whose prepare was running when the entries were saved: it died with the process. */
  private readonly interrupted = new Map<number, number>();
  /** Per layer, the attempt whose commit is waiting for its step boundary now. */
  private readonly committing = new Map<number, number>();

  constructor(
    private readonly backend: DeviceBackend,
    readonly rolloutId: string,
    readonly agent: number,
    readonly ranks: readonly number[],
  ) {}

  /** The ledger (persist it to survive agent restarts; restore with `restore`). */
  entries(): [number, LedgerEntry][] {
    return [...this.ledger.entries()];
  }

  /**
   * Restores saved entries (after an agent restart). A prepare that was still running when they
   * were saved died with the process: a repeat of it is run again rather than dropped as
   * "already running" (its staged buffers, if any, are replaced).
   */
  restore(entries: Iterable<[number, LedgerEntry]>): void {
    for (const [l, e] of entries) {
      this.ledger.set(l, e);
      if (e.phase === 'preparing') this.interrupted.set(l, e.attempt);
      else this.interrupted.delete(l);
    }
  }

  /**
   * One command, through the ledger: the answer to send, or null when there is none (another
   * agent's command, a stale or repeated one that is still running, an outcome no longer ours).
   * Each kind runs in its own small method: the commands of a layer are hot in a long-running
   * agent, and one function holding every kind with its awaits compiled slowly and was thrown back
   * whenever one kind's feedback changed.
   */
  async handle(cmd: RolloutAgentCommand): Promise<RolloutAck | null> {
    if (cmd.agent !== this.agent) return null;
    const entry = this.ledger.get(cmd.layer);
    const rerun = cmd.kind === 'prepare' && this.interrupted.get(cmd.layer) === cmd.attempt && entry?.phase === 'preparing' && entry.attempt === cmd.attempt;
    if (rerun) this.interrupted.delete(cmd.layer);
    const adm = rerun ? EXECUTE : admitCommand(entry, cmd);
    switch (adm.action) {
      case 'drop':
        return null;
      case 'refuse':
        return { ...this.base(cmd), phase: cmd.kind, ok: false, error: adm.error };
      case 'replay':
        return this.replay(cmd, adm.ok, adm.error);
      case 'execute':
        if (cmd.kind === 'prepare') return this.prepare(cmd);
        if (cmd.kind === 'commit') return this.commit(cmd);
        return this.abort(cmd);
    }
  }

  private base(cmd: RolloutAgentCommand): Pick<RolloutAck, 'rolloutId' | 'layer' | 'attempt' | 'agent' | 'ranks'> {
    return { rolloutId: this.rolloutId, layer: cmd.layer, attempt: cmd.attempt, agent: this.agent, ranks: this.ranks.slice() };
  }

  /** What the layer's ranks hold now, as a commit ack carries it. */
  private async holdings(layer: number): Promise<LayerHoldings> {
    const { layers } = await this.backend.describe([layer]);
    return layers[0];
  }

  /** A command already run: its outcome again (a commit's with what the ranks hold). */
  private async replay(cmd: RolloutAgentCommand, ok: boolean, error: string | undefined): Promise<RolloutAck> {
    const holdings = cmd.kind === 'commit' ? await this.holdings(cmd.layer) : undefined;
    return { ...this.base(cmd), phase: cmd.kind, ok, ...(error ? { error } : {}), ...(holdings ? { holdings } : {}) };
  }

  private async prepare(cmd: PrepareCommand): Promise<RolloutAck | null> {
    this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'preparing'));
    try {
      await this.backend.prepare(cmd.layer, cmd.part, { rolloutId: this.rolloutId, attempt: cmd.attempt, ...(cmd.bytesPerSecond ? { bytesPerSecond: cmd.bytesPerSecond } : {}), ...(cmd.repair ? { repair: true } : {}) });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      // an abort (or a newer attempt) overtook this prepare: its outcome is no longer ours to report
      if (!this.stillPreparing(cmd)) return null;
      this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'failed', error));
      return { ...this.base(cmd), phase: 'prepare', ok: false, error };
    }
    if (!this.stillPreparing(cmd)) return null;
    this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'prepared'));
    return { ...this.base(cmd), phase: 'prepare', ok: true };
  }

  private stillPreparing(cmd: PrepareCommand): boolean {
    const now = this.ledger.get(cmd.layer);
    return now?.attempt === cmd.attempt && now.phase === 'preparing';
  }

  private async commit(cmd: CommitCommand): Promise<RolloutAck | null> {
    // a repeat (the service re-sends until acked) while the swap waits for its step boundary:
    // that swap's ack answers both; running it again would find its staged weights swapped in
    // and answer a failure for a commit that succeeded
    if (this.committing.get(cmd.layer) === cmd.attempt) return null;
    this.committing.set(cmd.layer, cmd.attempt);
    try {
      await this.backend.commit(cmd.layer, this.rolloutId);
    } catch (e) {
      return { ...this.base(cmd), phase: 'commit', ok: false, error: e instanceof Error ? e.message : String(e) };
    } finally {
      this.committing.delete(cmd.layer);
    }
    this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'committed'));
    return { ...this.base(cmd), phase: 'commit', ok: true, holdings: await this.holdings(cmd.layer) };
  }

  private async abort(cmd: AbortCommand): Promise<RolloutAck> {
    this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'aborted'));
    // this rollout's staging only: another rollout's staged weights are not ours to drop
    await this.backend.abort(cmd.layer, this.rolloutId, cmd.attempt);
    return { ...this.base(cmd), phase: 'abort', ok: true };
  }
}

type PrepareCommand = Extract<RolloutAgentCommand, { kind: 'prepare' }>;
type CommitCommand = Extract<RolloutAgentCommand, { kind: 'commit' }>;
type AbortCommand = Extract<RolloutAgentCommand, { kind: 'abort' }>;
const EXECUTE = { action: 'execute' } as const;
