import { DeploymentShape } from '../src/shape/deployment-shape';
import { LedgerEntry, admitCommand, ledgerEntry } from '../src/rollout/agent-ledger';
import { LayerHoldings } from '../src/rollout/holdings';
import { RolloutAck, RolloutAgentCommand } from '../src/rollout/machine';
import { AgentPlanPart, ranksOfAgent } from '../src/rollout/plan';

/**
 * An in-memory cluster of agents that follow the agent protocol (ledger-based idempotency),
 * for tests of the rollout state machine: every rank's truth per layer (version, experts,
 * checksums), with injectable faults.
 */
export const fakeChecksum = (layer: number, expert: number): string => `w${layer}.${expert}`;

export interface FakeRankLayer {
  version: number;
  experts: number[];
  checksums: string[];
}

export class FakeAgent {
  readonly ranks: number[];
  /** truth[layer][k]: what ranks[k] holds. */
  readonly truth = new Map<number, FakeRankLayer[]>();
  private readonly ledger = new Map<number, LedgerEntry>();
  private readonly staged = new Map<number, { attempt: number; part: AgentPlanPart }>();
  /** Fault hooks: return true to fail that prepare / corrupt that commit. */
  failPrepare: (layer: number, attempt: number) => boolean = () => false;
  corruptCommit: (layer: number, attempt: number) => boolean = () => false;
  /** Return true to lose what was staged for that commit (the commit is refused). */
  loseStaged: (layer: number, attempt: number) => boolean = () => false;

  constructor(
    readonly shape: DeploymentShape,
    readonly id: number,
    readonly rolloutId: string,
    map: readonly (readonly number[])[],
    version: number,
  ) {
    this.ranks = ranksOfAgent(shape, id);
    const S = shape.slotsPerRank;
    map.forEach((row, l) => {
      this.truth.set(
        l,
        this.ranks.map((r) => {
          const experts = row.slice(r * S, r * S + S);
          return { version, experts, checksums: experts.map((e) => fakeChecksum(l, e)) };
        }),
      );
    });
  }

  holdings(layer: number): LayerHoldings {
    const t = this.truth.get(layer) as FakeRankLayer[];
    return {
      layer,
      version: t[0].version,
      ranks: this.ranks.map((r, k) => ({ rank: r, experts: t[k].experts.slice(), checksums: t[k].checksums.slice() })),
    };
  }

  /** Executes one command; returns the ack to send, if any. */
  handle(cmd: RolloutAgentCommand): RolloutAck | null {
    const base = { rolloutId: this.rolloutId, layer: cmd.layer, attempt: cmd.attempt, agent: this.id, ranks: this.ranks.slice() };
    const adm = admitCommand(this.ledger.get(cmd.layer), cmd);
    if (adm.action === 'drop') return null;
    if (adm.action === 'refuse') return { ...base, phase: cmd.kind, ok: false, error: adm.error };
    if (adm.action === 'replay') {
      return {
        ...base,
        phase: cmd.kind,
        ok: adm.ok,
        ...(adm.error ? { error: adm.error } : {}),
        ...(cmd.kind === 'commit' ? { holdings: this.holdings(cmd.layer) } : {}),
      };
    }
    switch (cmd.kind) {
      case 'prepare': {
        if (cmd.part.agent !== this.id) return { ...base, phase: 'prepare', ok: false, error: 'part of another agent' };
        if (this.failPrepare(cmd.layer, cmd.attempt)) {
          this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'failed', 'injected'));
          this.staged.delete(cmd.layer);
          return { ...base, phase: 'prepare', ok: false, error: 'injected' };
        }
        this.staged.set(cmd.layer, { attempt: cmd.attempt, part: cmd.part });
        this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'prepared'));
        return { ...base, phase: 'prepare', ok: true };
      }
      case 'commit': {
        if (this.loseStaged(cmd.layer, cmd.attempt)) this.staged.delete(cmd.layer);
        const st = this.staged.get(cmd.layer);
        if (!st || st.attempt !== cmd.attempt) return { ...base, phase: 'commit', ok: false, error: 'nothing staged' };
        const S = this.shape.slotsPerRank;
        const t = this.truth.get(cmd.layer) as FakeRankLayer[];
        const bad = this.corruptCommit(cmd.layer, cmd.attempt);
        // swap: slots named by the plan get new weights, the row gives the new routing
        for (const rec of st.part.receives) {
          const k = this.ranks.indexOf(Math.floor(rec.slot / S));
          t[k].experts[rec.slot % S] = rec.expert;
          t[k].checksums[rec.slot % S] = bad ? 'corrupt' : fakeChecksum(cmd.layer, rec.expert);
        }
        for (const x of t) x.version = st.part.version;
        this.staged.delete(cmd.layer);
        this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'committed'));
        return { ...base, phase: 'commit', ok: true, holdings: this.holdings(cmd.layer) };
      }
      case 'abort':
        this.staged.delete(cmd.layer);
        this.ledger.set(cmd.layer, ledgerEntry(cmd.attempt, 'aborted'));
        return { ...base, phase: 'abort', ok: true };
    }
  }
}

/** Per layer, the versions and rows the ranks of all agents hold. */
export function clusterLayer(agents: readonly FakeAgent[], layer: number): { versions: number[]; row: number[]; checksums: string[] } {
  const versions: number[] = [];
  const row: number[] = [];
  const checksums: string[] = [];
  for (const a of agents) {
    for (const t of a.truth.get(layer) as FakeRankLayer[]) {
      versions.push(t.version);
      row.push(...t.experts);
      checksums.push(...t.checksums);
    }
  }
  return { versions, row, checksums };
}
