import type { KeyObject } from 'node:crypto';
import {
  agentGroup,
  agentSession,
  ControlSessionCrypto,
  deriveSessionKeys,
  EphemeralKey,
  newEphemeralKey,
  parseControlWelcome,
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

/**
 * One control connection to one rollout-service instance. Per connection (control-session): a
 * fresh ephemeral key in the signed hello, and once the service's signed welcome answered it, the
 * session's keys that seal and open every line after.
 */
interface ControlLink {
  readonly client: ControlClient;
  readonly endpoint: string;
  welcomed: boolean;
  ephemeral: EphemeralKey | null;
  session: ControlSessionCrypto | null;
}

export interface AgentStats {
  executed: number;
  refused: number;
  /** Authenticated commands not taken: expired, or older than the newest (generation, rollout) taken — replays and stale senders. */
  stale: number;
  /** Commands dropped unread: not signed by the service (Kafka), not sealed with the connection's key or out of sequence (control channel), or malformed. */
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
 * Both ways are authenticated: on Kafka by Ed25519 signatures (libs/contracts rollout-signature),
 * on a control connection by the MACs of the session agreed in its signed hello and the service's
 * signed welcome (control-session). It runs only commands from the service (its pinned key), not
 * expired and not older than the newest (fence generation, rollout) it took (admitCommandOrder).
 */
export class AgentRuntime {
  readonly stats: AgentStats = { executed: 0, refused: 0, stale: 0, invalid: 0, acksSent: 0, directCommands: 0 };
  private readonly links: ControlLink[] = [];
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
      for (const m of batch.messages) this.onKafkaCommand(m.value, m.headers[ROLLOUT_SIGNATURE_HEADER]);
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
      const value = JSON.stringify(msg);
      for (const l of this.links) if (this.sendDirect(l, value)) delivered = true;
      if (await this.publish(value)) delivered = true;
    } catch (e) {
      this.o.log?.('error', 'holdings not reported: retried with the next heartbeat', { err: (e as Error).message });
    }
    this.holdingsDue = !delivered;
  }

  private dial(endpoint: ControlEndpoint): void {
    const where = `${endpoint.host}:${endpoint.port}`;
    const link: ControlLink = {
      endpoint: where,
      welcomed: false,
      ephemeral: null,
      session: null,
      client: new ControlClient({
        endpoint,
        ...(this.o.control?.tls ? { tls: this.o.control.tls } : {}),
        hello: () => this.hello(link),
        onState: (connected, detail) => {
          if (!connected) {
            link.welcomed = false;
            link.session = null;
          }
          this.o.log?.('info', 'control channel', { detail });
        },
        onMessage: (line) => {
          if (link.welcomed) this.onControlLine(link, line);
          else this.onWelcome(link, line);
        },
      }),
    };
    this.links.push(link);
    link.client.start();
  }

  /** The hello of a new connection: a fresh ephemeral key, signed with the agent's own key with all else it says. */
  private hello(link: ControlLink): string {
    link.welcomed = false;
    link.session = null;
    link.ephemeral = newEphemeralKey();
    const value = JSON.stringify({ v: 1, type: 'hello', token: this.o.token, deployment: this.o.deployment, node: this.o.node, ranks: this.o.ranks.slice(), publicKey: publicKeyText(this.o.keys.own), ephemeral: link.ephemeral.publicText, agent: `pid ${process.pid}` });
    return signedLine(signRolloutMessage(this.o.keys.own, value), value);
  }

  /**
   * The service's first answer on a connection: a welcome signed with its pinned key that answers
   * this connection's hello (its ephemeral key echoed) keys the session; a refusal, or anything
   * else, leaves the agent not ready (AgentReadinessCheck) and the connection is dialled again.
   */
  private onWelcome(link: ControlLink, line: string): void {
    let why: string;
    if (line.startsWith('{')) {
      let refused: { type?: string; reason?: string } = {};
      try {
        refused = JSON.parse(line) as typeof refused;
      } catch {
        /* reported below as it is */
      }
      why = refused.type === 'refused' && refused.reason ? refused.reason : `unsigned answer: ${line.slice(0, 200)}`;
    } else {
      const { signature, value } = readSignedLine(line);
      const w = parseControlWelcome(value);
      if (!verifyRolloutMessage(this.o.keys.service, value, signature)) why = 'welcome not signed by the pinned rollout-service key';
      else if (!w.ok) why = `welcome: ${w.reason}`;
      else if (!link.ephemeral || w.message.agentEphemeral !== link.ephemeral.publicText) why = 'welcome answers another connection (ephemeral key not ours)';
      else {
        try {
          link.session = agentSession(deriveSessionKeys(link.ephemeral.privateKey, w.message.ephemeral, link.ephemeral.publicText, w.message.ephemeral));
          link.welcomed = true;
          link.ephemeral = null;
          this.controlRefused = null;
          void this.reportHoldings();
          return;
        } catch (e) {
          why = `welcome: ephemeral: ${(e as Error).message}`;
        }
      }
    }
    this.controlRefused = `${link.endpoint}: ${why}`;
    this.o.log?.('error', 'control channel refused', { endpoint: link.endpoint, reason: why });
    link.client.drop();
  }

  /** A line after the welcome: a command, taken only when sealed with this connection's key and next in its sequence. */
  private onControlLine(link: ControlLink, line: string): void {
    const opened = link.session?.opener.open(line) ?? { ok: false as const, reason: 'no session' };
    if (!opened.ok) {
      this.stats.invalid++;
      this.o.log?.('warn', 'control line not sealed with the connection\'s key dropped', { endpoint: link.endpoint, reason: opened.reason });
      return;
    }
    this.stats.directCommands++;
    this.take(opened.value, link);
  }

  /** A command on Kafka: taken only when the service's pinned key signed it. */
  private onKafkaCommand(raw: Buffer | null, signature: string | undefined): void {
    if (raw === null || !verifyRolloutMessage(this.o.keys.service, raw, signature)) {
      this.stats.invalid++;
      this.o.log?.('warn', 'rollout command without a valid signature of the rollout service dropped', { transport: 'kafka' });
      return;
    }
    this.take(raw, null);
  }

  /** The ranks the backend says are gone, as heartbeats and holdings carry them. */
  private lost(): { lostRanks?: number[] } {
    const ranks = this.o.backend.lostRanks?.() ?? [];
    return ranks.length > 0 ? { lostRanks: ranks } : {};
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.holdingsDue) await this.reportHoldings();
    const sentAt = Date.now();
    const msg: RolloutAckV1 = { v: 1, type: 'heartbeat', deployment: this.o.deployment, node: this.o.node, ranks: this.o.ranks.slice(), sentAt, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS, ...this.lost() };
    const value = JSON.stringify(msg);
    let sent = false;
    for (const l of this.links) if (this.sendDirect(l, value)) sent = true;
    if (!sent) await this.publish(value);
  }

  /**
   * An authenticated command (its transport checked who sent it); `via`: the control connection it
   * came on (answered there), null for Kafka. It counts only while it is fresh.
   */
  private take(raw: Buffer | string, via: ControlLink | null): void {
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
  /** Answers on the connection the command came on while it is up, else on Kafka (an ack is given again when the service re-sends its command). */
  private async sendAck(ack: RolloutAck, via: ControlLink | null, generation: number): Promise<void> {
    const sentAt = Date.now();
    const msg: RolloutAckV1 = { v: 1, type: 'ack', deployment: this.o.deployment, node: this.o.node, ack, generation, sentAt, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS };
    const value = JSON.stringify(msg);
    if (!(via && this.sendDirect(via, value))) await this.publish(value);
    this.stats.acksSent++;
  }

  /** Writes `value` on a welcomed connection, sealed with its session's key; false when it is not up. */
  private sendDirect(link: ControlLink, value: string): boolean {
    return link.welcomed && link.session !== null && link.client.sendLine(link.session.sealer.seal(value));
  }

  /** Publishes `value` on Kafka, signed with the agent's own key; false when it did not get out. */
  private async publish(value: string): Promise<boolean> {
    if (!this.producer) return false;
    try {
      await this.producer.send(TOPICS.rolloutAcks, [{ key: this.o.deployment, value, headers: { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(this.o.keys.own, value) } }]);
      return true;
    } catch (e) {
      this.o.log?.('error', 'agent message not sent', { err: (e as Error).message });
      return false;
    }
  }
}
