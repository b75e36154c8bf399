import { TOPICS, RolloutAckV1, parseRolloutCommand } from '@eplb/contracts';
import { CommandExecutor, DeviceBackend } from '@eplb/device';
import type { RolloutAck, RolloutAgentCommand } from '@eplb/domain';
import type { MessageBus, MessageConsumer, MessageProducer } from '@eplb/messaging';
import type { AgentStatePort } from './agent-state';

export interface AgentRuntimeOptions {
  readonly deployment: string;
  readonly node: number;
  /** The ranks this agent serves (its node's), ascending. */
  readonly ranks: readonly number[];
  readonly backend: DeviceBackend;
  readonly bus: MessageBus;
  readonly groupPrefix: string;
  /** Persistence of the executors' ledgers (and the device memory) across restarts; none if unset. */
  readonly state?: AgentStatePort;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: object) => void;
}

export interface AgentStats {
  executed: number;
  refused: number;
  invalid: number;
  acksSent: number;
}

/**
 * The agent's side of the rollout protocol over Kafka: reads `eplb.rollout.commands.v1` (its own
 * consumer group per deployment and node, so every agent sees every command of its deployment),
 * runs the commands addressed to its node on its device backend through a CommandExecutor per
 * rollout (idempotent: repeats answer again, stale ones are dropped), refuses commands naming
 * ranks it does not serve, and answers on `eplb.rollout.acks.v1`. On start it reports what its
 * ranks hold.
 */
export class AgentRuntime {
  readonly stats: AgentStats = { executed: 0, refused: 0, invalid: 0, acksSent: 0 };
  private readonly executors = new Map<string, CommandExecutor>();
  private producer: MessageProducer | null = null;
  private consumer: MessageConsumer | null = null;
  private assigned = false;

  constructor(private readonly o: AgentRuntimeOptions) {}

  get ready(): boolean {
    return this.assigned;
  }

  async start(): Promise<void> {
    this.producer = await this.o.bus.producer({ compression: 'none' });
    this.consumer = this.o.bus.consumer({
      groupId: `${this.o.groupPrefix}-agent-${this.o.deployment}-${this.o.node}`,
      topics: [TOPICS.rolloutCommands],
      // a new agent acts on what is sent from now on; a restarted one resumes at its offsets
      fromBeginning: false,
      onAssignment: () => {
        this.assigned = true;
        // (re)joined: tell the service what the ranks hold now
        void this.reportHoldings().catch(() => undefined);
      },
    });
    await this.consumer.run(async (batch) => {
      for (const m of batch.messages) this.onMessage(m.value);
    });
    await this.reportHoldings();
  }

  async close(): Promise<void> {
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }

  /** Sends what every served rank holds, per layer (versions, experts, checksums). */
  async reportHoldings(): Promise<void> {
    const { layers } = await this.o.backend.describe();
    await this.publish({ v: 1, type: 'holdings', deployment: this.o.deployment, node: this.o.node, ranks: this.o.ranks.slice(), layers, sentAt: Date.now() });
  }

  private onMessage(raw: Buffer | null): void {
    const p = parseRolloutCommand(raw);
    if (!p.ok) {
      this.stats.invalid++;
      this.o.log?.('warn', 'invalid rollout command dropped', { reason: p.reason });
      return;
    }
    const m = p.message;
    if (m.deployment !== this.o.deployment || m.command.agent !== this.o.node) return;
    const cmd = m.command as RolloutAgentCommand;
    const own = this.o.ranks;
    const named = cmd.kind === 'prepare' ? cmd.part.ranks : cmd.ranks;
    const foreign = named.length !== own.length || named.some((r, k) => r !== own[k]) || (cmd.kind === 'prepare' && cmd.part.agent !== this.o.node);
    if (foreign) {
      this.stats.refused++;
      const ack: RolloutAck = {
        rolloutId: m.rolloutId,
        layer: cmd.layer,
        attempt: cmd.attempt,
        agent: this.o.node,
        ranks: own.slice(),
        phase: cmd.kind,
        ok: false,
        error: `refused: command names ranks [${named.join(',')}], agent ${this.o.node} serves [${own.join(',')}]`,
      };
      void this.sendAck(ack);
      return;
    }
    let ex = this.executors.get(m.rolloutId);
    if (!ex) {
      this.executors.set(m.rolloutId, (ex = new CommandExecutor(this.o.backend, m.rolloutId, this.o.node, own)));
      const saved = this.o.state?.ledger(m.rolloutId);
      if (saved) ex.restore(saved);
    }
    // Not awaited: a long prepare must not hold back an abort of it (the executor's ledger
    // decides whose outcome counts); commands of one layer arrive only after the previous acks.
    this.stats.executed++;
    // With persistence, what the command changed is on disk before its ack promises it.
    void ex
      .handle(cmd)
      .then(
        async (ack) => (ack ? (await this.o.state?.save(this.executors), this.sendAck(ack)) : undefined),
        (e: Error) => this.o.log?.('error', 'command failed', { err: e.message, layer: cmd.layer, kind: cmd.kind }),
      )
      .catch((e: Error) => this.o.log?.('error', 'agent state not saved: ack withheld', { err: e.message, layer: cmd.layer, kind: cmd.kind }));
  }

  private async sendAck(ack: RolloutAck): Promise<void> {
    await this.publish({ v: 1, type: 'ack', deployment: this.o.deployment, node: this.o.node, ack, sentAt: Date.now() });
    this.stats.acksSent++;
  }

  private async publish(msg: RolloutAckV1): Promise<void> {
    try {
      await this.producer?.send(TOPICS.rolloutAcks, [{ key: this.o.deployment, value: JSON.stringify(msg) }]);
    } catch (e) {
      // the service re-sends unacknowledged commands; the answer is given again then
      this.o.log?.('error', 'ack not sent', { err: (e as Error).message });
    }
  }
}
