import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandExecutor, SimulatedBackendSnapshot } from '@eplb/device';
import type { CommandOrder, LedgerEntry } from '@eplb/domain';

/**
 * What an agent keeps across restarts (AGENT_STATE_DIR), one JSON file per deployment and node:
 * - `backend`: the simulated device memory (SimulatedBackend.snapshot), or null under the torch
 *   backend (the ranks' bridges hold the weights in the engine's memory and describe them). The snapshot: per layer the version and
 *   per rank the experts held with their checksums, the staged buffers of prepared layers with
 *   their plan parts, and the layers committed once. It stands for the engine's GPU memory, which
 *   outlives the agent process: after a restart the agent must report what the ranks really hold,
 *   and a commit of a layer it acked as prepared must still be a pure swap (the peers it fetched
 *   from may have committed already, so the sources need not exist any more).
 * - `ledgers`: per rollout, each CommandExecutor's ledger (per layer the highest attempt and its
 *   outcome), so repeated and stale commands are answered as before the restart.
 * - `newestCommand`: the newest (fence generation, rollout) of a command taken, so a command
 *   captured before the restart is still refused as older after it (admitCommandOrder).
 * Written atomically (temporary file, fsync, rename, fsync of the directory) after every command
 * that changed something and BEFORE its ack is sent: an ack never promises what a crash forgets.
 */
export interface AgentStateFile {
  readonly v: 1;
  readonly deployment: string;
  readonly node: number;
  readonly savedAt: string;
  readonly backend: SimulatedBackendSnapshot | null;
  /** rolloutId → ledger entries, oldest rollout first. */
  readonly ledgers: Record<string, [number, LedgerEntry][]>;
  /** Absent in files saved before commands were ordered. */
  readonly newestCommand?: CommandOrder | null;
}

/** The file store: load on start, atomic writes. */
export class AgentStateStore {
  readonly path: string;

  constructor(
    readonly dir: string,
    readonly deployment: string,
    readonly node: number,
  ) {
    this.path = join(dir, `agent-${deployment}-node${node}.json`);
  }

  /**
   * The saved state, or null when there is none. A file that is not this agent's, or unreadable,
   * stops the start: serving on top of device memory we cannot describe is worse than not serving.
   */
  load(): AgentStateFile | null {
    mkdirSync(this.dir, { recursive: true });
    // leftovers of a write that crashed before its rename
    const base = `agent-${this.deployment}-node${this.node}.json.tmp-`;
    for (const f of readdirSync(this.dir)) if (f.startsWith(base)) unlinkSync(join(this.dir, f));
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let s: AgentStateFile;
    try {
      s = JSON.parse(text) as AgentStateFile;
    } catch (e) {
      throw new Error(`agent state ${this.path} is not JSON: ${(e as Error).message}`);
    }
    if (s?.v !== 1) throw new Error(`agent state ${this.path}: format ${String(s?.v)} is not 1`);
    if (s.deployment !== this.deployment || s.node !== this.node) {
      throw new Error(`agent state ${this.path} is of ${s.deployment} node ${s.node}, not ${this.deployment} node ${this.node}`);
    }
    if (s.backend === undefined || typeof s.ledgers !== 'object' || s.ledgers === null) throw new Error(`agent state ${this.path} lacks backend or ledgers`);
    return s;
  }

  /** Replaces the file atomically: a crash leaves the old state or the new one, never a mix. */
  async write(state: AgentStateFile): Promise<void> {
    const tmp = `${this.path}.tmp-${process.pid}-${Date.now()}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    // the rename itself is durable once the directory is
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/** What AgentRuntime needs from persistence (apps/agent/src/agent-runtime.ts). */
export interface AgentStatePort {
  /** The saved ledger of a rollout (restored into its executor when the executor is created). */
  ledger(rolloutId: string): [number, LedgerEntry][] | undefined;
  /** The newest (fence generation, rollout) of a command taken before the restart; null: none. */
  newestCommand(): CommandOrder | null;
  /** Saves the device memory, every executor's ledger and the newest command order; resolves once it is on disk. */
  save(executors: ReadonlyMap<string, CommandExecutor>, newest: CommandOrder | null): Promise<void>;
}

/** Ledgers of this many rollouts are kept (the newest); older rollouts' commands are long stale. */
export const MAX_SAVED_ROLLOUTS = 64;

/**
 * Keeps an agent's state on disk through an AgentStateStore: `save` is called after each command
 * that changed something; writes are serialised and coalesced (a save resolves once a write that
 * began after it was called is durable, so its snapshot includes the caller's change).
 */
export class AgentStatePersistence implements AgentStatePort {
  private readonly ledgers = new Map<string, [number, LedgerEntry][]>();
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private live: ReadonlyMap<string, CommandExecutor> = new Map();
  private newest: CommandOrder | null;
  writes = 0;
  /** Why the last write failed (null once one succeeds): the agent is not ready meanwhile. */
  failure: string | null = null;

  constructor(
    private readonly store: AgentStateStore,
    private readonly backend: { snapshot(): SimulatedBackendSnapshot | null },
    loaded: AgentStateFile | null = null,
  ) {
    for (const [rid, entries] of Object.entries(loaded?.ledgers ?? {})) this.ledgers.set(rid, entries);
    this.newest = loaded?.newestCommand ?? null;
  }

  newestCommand(): CommandOrder | null {
    return this.newest;
  }

  ledger(rolloutId: string): [number, LedgerEntry][] | undefined {
    return this.ledgers.get(rolloutId);
  }

  save(executors: ReadonlyMap<string, CommandExecutor>, newest: CommandOrder | null = this.newest): Promise<void> {
    this.live = executors;
    this.newest = newest;
    if (this.queued) return this.queued;
    const prev = this.running ?? Promise.resolve();
    const next: Promise<void> = prev
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        this.running = next;
        return this.writeNow();
      })
      .finally(() => {
        if (this.running === next) this.running = null;
      });
    this.queued = next;
    return next;
  }

  /** Writes the current state at once (start-up, shutdown). */
  async writeNow(): Promise<void> {
    // ledgers and device memory are taken together, synchronously: one consistent picture
    for (const [rid, ex] of this.live) {
      this.ledgers.delete(rid); // re-inserted: the map's order is recency
      this.ledgers.set(rid, ex.entries());
    }
    while (this.ledgers.size > MAX_SAVED_ROLLOUTS) this.ledgers.delete(this.ledgers.keys().next().value as string);
    const state: AgentStateFile = {
      v: 1,
      deployment: this.store.deployment,
      node: this.store.node,
      savedAt: new Date().toISOString(),
      backend: this.backend.snapshot(),
      ledgers: Object.fromEntries(this.ledgers),
      newestCommand: this.newest,
    };
    try {
      await this.store.write(state);
    } catch (e) {
      this.failure = (e as Error).message;
      throw e;
    }
    this.failure = null;
    this.writes++;
  }
}
