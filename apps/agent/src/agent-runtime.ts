import type { KeyObject } from 'node:crypto';
import {
  agentGroup,
  parseRolloutCommand,
  publicKeyText,
  readSignedLine,
  ROLLOUT_MESSAGE_TTL_MS,
  ROLLOUT_SIGNATURE_HEADER,
  RolloutAckV1,
  signedLine,
  signRolloutMessage,
  TOPICS,
  verifyRolloutMessage,
} from '@eplb/contracts';
import { CommandExecutor, DeviceBackend } from '@eplb/device';
import { admitCommandOrder, sameRanks, type CommandOrder, type RolloutAck, type RolloutAgentCommand } from '@eplb/domain';
import { ControlClient, ControlEndpoint } from '@eplb/messaging';
import type { AgentStatePort } from './agent-state';
import type { MessageBus, MessageConsumer, MessageProducer } from '@eplb/messaging';

/** The direct control channel to the rollout service instances (beside Kafka). */
export interface AgentControlOptions {
  /** Every rollout-service instance: whichever holds the deployment's lock sends over its connection. */
  readonly endpoints: readonly ControlEndpoint[];
  readonly heartbeatMs?: number;
  /** Dial TLS, verifying the service against `ca` (the system's CAs without) for `servername`. */
  readonly tls?: { readonly ca?: string | Buffer; readonly servername?: string };
}

export interface AgentRuntimeOptions {
  readonly deployment: string;
  readonly node: number;
  /** The ranks this agent serves (its node's), ascending. */
  readonly ranks: readonly number[];
  readonly backend: DeviceBackend;
  readonly bus: MessageBus;
  readonly groupPrefix: string;
  /**
   * The agent's API token (role agent, ideally scoped to its node; or operator): presented in the
   * control channel's hello, where it enrols the agent's public key.
   */
  readonly token: string;
  /**
   * `own`: the agent's Ed25519 private key, which signs everything it sends (its public half is
   * enrolled in the hello); `service`: the rollout service's pinned public key — a command runs
   * only when it verifies, on either transport.
   */
  readonly keys: { readonly own: KeyObject; readonly service: KeyObject };
  readonly control?: AgentControlOptions;
  /** Heartbeat period without a control channel (default 5 s). */
  readonly heartbeatMs?: number;
  /** Persistence of the executors' ledgers, the newest command order taken (and the device memory) across restarts; none if unset. */
  readonly state?: AgentStatePort;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: object) => void;
}

export interface AgentStats {
  executed: number;
  refused: number;
  /** Signed commands not taken: expired, or older than the newest (generation, rollout) taken — replays and stale senders. */
  stale: number;
  invalid: number;
  acksSent: number;
  /** Commands that arrived on the direct control channel (the rest came over Kafka). */
  directCommands: number;
}

/**
 * The agent's side of the rollout protocol, on its direct control connections and on Kafka: reads
 * `eplb.rollout.commands.v1` (its own consumer group per deployment and node, so every agent sees
 * every command of its deployment), runs the commands addressed to its node on its device backend
 * through a CommandExecutor per rollout (idempotent: repeats answer again, stale ones are
 * dropped), refuses commands naming ranks it does not serve, and answers where the command came
 * from (`eplb.rollout.acks.v1` without a connection). On start it reports what its ranks hold.
 * Both ways are signed (libs/contracts rollout-signature): it runs only commands the service's
 * pinned key signed, not expired and not older than the newest (fence generation, rollout) it
 * took (admitCommandOrder), and signs all it sends with its own key.
 */
export class AgentRuntime {
  readonly stats: AgentStats = { executed: 0, refused: 0, stale: 0, invalid: 0, acksSent: 0, directCommands: 0 };
  private readonly links: { client: ControlClient; welcomed: boolean }[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly executors = new Map<string, CommandExecutor>();
  private producer: MessageProducer | null = null;
  private consumer: MessageConsumer | null = null;
  private assigned = false;
  /** A holdings report that did not get out (Kafka down, the backend not answering): sent again with the next heartbeat. */
  private holdingsDue = false;
  /** Why a rollout-service instance refused this agent's hello (its token, its scope), until one welcomes it. */
  controlRefused: string | null = null;
  /** The newest (fence generation, rollout) of a command taken: older ones are replays or stale senders. */
  private newest: CommandOrder | null;
  /** When this runtime began taking commands: without a record of older ones, commands sent before are refused. */
  private readonly startedAt = Date.now();

  constructor(private readonly o: AgentRuntimeOptions) {
    this.newest = o.state?.newestCommand() ?? null;
  }

  get ready(): boolean {
    return this.assigned;
  }

  /** True when every configured rollout-service instance accepted this agent's control connection. */
  get controlConnected(): boolean {
    return this.links.length > 0 && this.links.every((l) => l.welcomed && l.client.isConnected);
  }

  async start(): Promise<void> {
    this.producer = await this.o.bus.producer({ compression: 'none' });
    this.consumer = this.o.bus.consumer({
      groupId: agentGroup(this.o.groupPrefix, this.o.deployment, this.o.node),
      topics: [TOPICS.rolloutCommands],
      // a new agent acts on what is sent from now on; a restarted one resumes at its offsets
      fromBeginning: false,
      onAssignment: () => {
        this.assigned = true;
        // (re)joined: tell the service what the ranks hold now
        void this.reportHoldings();
      },
    });
    await this.consumer.run(async (batch) => {
      for (const m of batch.messages) this.onMessage(m.value, null, m.headers[ROLLOUT_SIGNATURE_HEADER]);
    });
    for (const endpoint of this.o.control?.endpoints ?? []) this.dial(endpoint);
    // heartbeats on the control channel, or on Kafka while no connection is up
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), this.o.control?.heartbeatMs ?? this.o.heartbeatMs ?? 5_000);
    this.heartbeat.unref();
    await this.reportHoldings();
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const l of this.links) l.client.close();
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }

  /**
   * Sends what every served rank holds, per layer (versions, experts, checksums), both ways. The
   * service plans and verifies against it: if it reached neither way, it is due again with the
   * next heartbeat.
   */
  async reportHoldings(): Promise<void> {
    let delivered = false;
    try {
      const { layers } = await this.o.backend.describe();
      const sentAt = Date.now();
      const msg: RolloutAckV1 = { v: 1, type: 'holdings', deployment: this.o.deployment, node: this.o.node, ranks: this.o.ranks.slice(), layers, sentAt, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS, ...this.lost() };
      const line = this.signed(msg);
      for (const l of this.links) if (l.welcomed && l.client.sendLine(signedLine(line.signature, line.value))) delivered = true;
      if (await this.publishSigned(line, null)) delivered = true;
    } catch (e) {
      this.o.log?.('error', 'holdings not reported: retried with the next heartbeat', { err: (e as Error).message });
    }
    this.holdingsDue = !delivered;
  }

  private dial(endpoint: ControlEndpoint): void {
    const link = { client: null as unknown as ControlClient, welcomed: false };
    link.client = new ControlClient({
      endpoint,
      ...(this.o.control?.tls ? { tls: this.o.control.tls } : {}),
      hello: () => ({ v: 1, type: 'hello', token: this.o.token, deployment: this.o.deployment, node: this.o.node, ranks: this.o.ranks.slice(), publicKey: publicKeyText(this.o.keys.own), agent: `pid ${process.pid}` }),
      onState: (connected, detail) => {
        if (!connected) link.welcomed = false;
        this.o.log?.('info', 'control channel', { detail });
      },
      onMessage: (line) => {
        if (!link.welcomed) {
          // the first answer is the service's verdict on our hello
          let first: { type?: string; reason?: string } = {};
          try {
            first = JSON.parse(line) as typeof first;
          } catch {
            /* handled below */
          }
          if (first.type === 'welcome') {
            link.welcomed = true;
            this.controlRefused = null;
            void this.reportHoldings();
          } else {
            // not only logged: the agent is not ready while refused (AgentReadinessCheck)
            this.controlRefused = `${endpoint.host}:${endpoint.port}: ${first.reason ?? line.slice(0, 200)}`;
            this.o.log?.('error', 'control channel refused', { endpoint: `${endpoint.host}:${endpoint.port}`, reason: first.reason ?? line.slice(0, 200) });
          }
          return;
        }
        this.stats.directCommands++;
        const { signature, value } = readSignedLine(line);
        this.onMessage(value, link.client, signature);
      },
    });
    this.links.push(link);
    link.client.start();
  }

  /** The ranks the backend says are gone, as heartbeats and holdings carry them. */
  private lost(): { lostRanks?: number[] } {
    const ranks = this.o.backend.lostRanks?.() ?? [];
    return ranks.length > 0 ? { lostRanks: ranks } : {};
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.holdingsDue) await this.reportHoldings();
    const sentAt = Date.now();
    const line = this.signed({ v: 1, type: 'heartbeat', deployment: this.o.deployment, node: this.o.node, ranks: this.o.ranks.slice(), sentAt, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS, ...this.lost() });
    let sent = false;
    for (const l of this.links) if (l.welcomed && l.client.sendLine(signedLine(line.signature, line.value))) sent = true;
    if (!sent) await this.publishSigned(line, null);
  }

  /**
   * `via`: the control connection the command came on (answered there), null for Kafka. Either
   * way a command counts only when the service's pinned key signed it, and only while it is fresh.
   */
  private onMessage(raw: Buffer | string | null, via: ControlClient | null, signature: string | undefined): void {
    if (raw === null || !verifyRolloutMessage(this.o.keys.service, raw, signature)) {
      this.stats.invalid++;
      this.o.log?.('warn', 'rollout command without a valid signature of the rollout service dropped', { transport: via ? 'direct' : 'kafka' });
      return;
    }
    const p = parseRolloutCommand(raw);
    if (!p.ok) {
      this.stats.invalid++;
      this.o.log?.('warn', 'invalid rollout command dropped', { reason: p.reason });
      return;
    }
    const m = p.message;
    if (m.deployment !== this.o.deployment || m.command.agent !== this.o.node) return;
    const order = admitCommandOrder(this.newest, m, Date.now(), this.startedAt);
    if (!order.fresh) {
      this.stats.stale++;
      this.o.log?.('warn', 'rollout command refused: not fresh', { why: order.why, kind: m.command.kind, layer: m.command.layer, rolloutId: m.rolloutId, generation: m.generation, rolloutSeq: m.rolloutSeq });
      return;
    }
    this.newest = order.newest;
    const cmd = m.command as RolloutAgentCommand;
    const own = this.o.ranks;
    const named = cmd.kind === 'prepare' ? cmd.part.ranks : cmd.ranks;
    const foreign = !sameRanks(named, own) || (cmd.kind === 'prepare' && cmd.part.agent !== this.o.node);
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
      void this.sendAck(ack, via, m.generation);
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
    // With persistence, what the command changed is on disk before its ack promises it. Every
    // command answered gets an answer: a failure (of the command, or of saving what it changed)
    // is a failed ack with its reason, so the service acts on it instead of waiting for a timeout.
    void ex
      .handle(cmd)
      .catch((e: Error): RolloutAck => {
        this.o.log?.('error', 'command failed', { err: e.message, layer: cmd.layer, kind: cmd.kind });
        return { rolloutId: m.rolloutId, layer: cmd.layer, attempt: cmd.attempt, agent: this.o.node, ranks: own.slice(), phase: cmd.kind, ok: false, error: e.message };
      })
      .then(async (ack) => (ack ? this.sendAck(await this.saved(ack), via, m.generation) : undefined))
      .catch((e: Error) => this.o.log?.('error', 'ack not sent', { err: e.message, layer: cmd.layer, kind: cmd.kind }));
  }

  /**
   * `ack` once what its command changed is on disk. If it cannot be saved (disk full, a read-only
   * or vanished state dir), the ack says so instead of promising what a crash would forget: a
   * failed prepare aborts the layer before any rank swapped; a failed commit has this agent stage
   * the layer again until its state is saved, and fails the rollout once the commit is overdue.
   */
  private async saved(ack: RolloutAck): Promise<RolloutAck> {
    if (!this.o.state) return ack;
    try {
      await this.o.state.save(this.executors, this.newest);
      return ack;
    } catch (e) {
      const error = `agent state not saved: ${(e as Error).message}`;
      this.o.log?.('error', 'agent state not saved: answered as failed', { err: (e as Error).message, layer: ack.layer, phase: ack.phase, ok: ack.ok });
      const { holdings: _, ...answer } = ack;
      return { ...answer, ok: false, error: ack.ok ? error : `${ack.error ?? 'failed'}; ${error}` };
    }
  }

  /** `generation`: the fence generation of the command answered (the service takes acks of its own only). */
  private async sendAck(ack: RolloutAck, via: ControlClient | null, generation: number): Promise<void> {
    const sentAt = Date.now();
    await this.publishSigned(this.signed({ v: 1, type: 'ack', deployment: this.o.deployment, node: this.o.node, ack, generation, sentAt, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS }), via);
    this.stats.acksSent++;
  }

  /** A message as sent: its JSON text and the agent's signature of it. */
  private signed(msg: RolloutAckV1): { value: string; signature: string } {
    const value = JSON.stringify(msg);
    return { value, signature: signRolloutMessage(this.o.keys.own, value) };
  }

  /**
   * Answers on the connection the command came on while it is up, else on Kafka; false when it
   * did not get out (an ack is given again when the service re-sends its command).
   */
  private async publishSigned(line: { value: string; signature: string }, via: ControlClient | null): Promise<boolean> {
    if (via?.sendLine(signedLine(line.signature, line.value))) return true;
    if (!this.producer) return false;
    try {
      await this.producer.send(TOPICS.rolloutAcks, [{ key: this.o.deployment, value: line.value, headers: { [ROLLOUT_SIGNATURE_HEADER]: line.signature } }]);
      return true;
    } catch (e) {
      this.o.log?.('error', 'agent message not sent', { err: (e as Error).message });
      return false;
    }
  }
}
