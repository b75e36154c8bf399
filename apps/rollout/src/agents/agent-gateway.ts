import { Inject, Injectable } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  parseRolloutAck,
  rolloutGroup,
  ROLLOUT_MESSAGE_TTL_MS,
  ROLLOUT_SIGNATURE_HEADER,
  RolloutAckV1,
  RolloutCommandV1,
  signRolloutMessage,
  TOPICS,
} from '@eplb/contracts';
import { RolloutAgentCommand, sameRanks } from '@eplb/domain';
import { ControlServer, ControlSession, MESSAGE_BUS, MessageBus, MessageConsumer, MessageProducer } from '@eplb/messaging';
import { NewEvent, RolloutEventRepository } from '@eplb/persistence';
import { APP_CONFIG, AppConfig, counter, gauge, LOGGER } from '@eplb/platform';
import { RolloutInstance } from '../rollout-instance';
import { ROLLOUT_SETTINGS, RolloutSettings } from '../rollout-settings';
import { RolloutStats } from '../rollout-stats';
import { AgentAuthenticator, AgentPeer } from './agent-authenticator';
import { AgentLink, AgentRegistry } from './agent-registry';
import { AgentPublicKeys } from './agent-public-keys';
import { ServiceSigningKey } from './service-signing-key';

const agentsConnected = gauge('eplb_rollout_agents_connected', 'Agents connected to this instance on the direct control channel', ['deployment'] as const);
const commandsSent = counter('eplb_rollout_commands_sent_total', 'Commands sent to agents, by transport', ['transport'] as const);
const agentMessagesDropped = counter('eplb_rollout_agent_messages_dropped_total', 'Agent messages dropped: invalid, not signed by its node\'s enrolled key (Kafka) or not sealed with its connection\'s key and sequence (control channel), expired, or for another agent', ['reason'] as const);

/** What a command is bound to besides itself: its rollout, that rollout's start order, and the sender's fence generation. */
export interface CommandBinding {
  readonly rolloutId: string;
  readonly rolloutSeq: number;
  readonly generation: number;
}

/**
 * The service's two ways to the agents: the direct control channel they dial (one authenticated
 * session per node, which speaks only for that node) and Kafka. Both carry the same messages,
 * authenticated per transport: on Kafka each is signed (commands with the service's key, which
 * agents pin; agent messages with the key their node's agent enrolled); on the control channel
 * each line carries the MAC of its connection's session keys, agreed in the signed hello and
 * welcome (libs/contracts control-session). Agent messages are taken only when not expired. Commands go direct when the agent has a session here, else over Kafka; what agents
 * send, either way, is recorded in the agent registry and acks are handed to `onAck`.
 */
@Injectable()
export class AgentGateway {
  private readonly control: ControlServer<AgentPeer>;
  private readonly sessions = new Map<string, ControlSession<AgentPeer>>();
  private controlPort = 0;
  private listening = false;
  private producer: MessageProducer | null = null;
  private consumer: MessageConsumer | null = null;
  private assigned = false;
  private onAck: (m: RolloutAckV1) => void = () => undefined;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly instance: RolloutInstance,
    private readonly stats: RolloutStats,
    private readonly authenticator: AgentAuthenticator,
    private readonly registry: AgentRegistry,
    private readonly publicKeys: AgentPublicKeys,
    private readonly signingKey: ServiceSigningKey,
    private readonly events: RolloutEventRepository,
  ) {
    this.control = new ControlServer<AgentPeer>({
      authenticate: (hello) => this.authenticator.authenticate(hello),
      onSession: (sess) => this.onSession(sess),
      onMessage: (sess, line) => this.onControlLine(sess, line),
      onClose: (sess) => this.onSessionClosed(sess),
      onInvalid: (remote, reason) => {
        this.stats.invalidMessages++;
        this.logger.warn({ remote, reason }, 'control channel: invalid input');
      },
      ...(settings.ROLLOUT_CONTROL_TLS_CERT && settings.ROLLOUT_CONTROL_TLS_KEY
        ? { tls: { cert: readFileSync(settings.ROLLOUT_CONTROL_TLS_CERT), key: readFileSync(settings.ROLLOUT_CONTROL_TLS_KEY) } }
        : {}),
    });
  }

  /** The port of the direct control channel agents dial. */
  get controlChannelPort(): number {
    return this.controlPort;
  }

  /** The control channel accepts connections. */
  get isListening(): boolean {
    return this.listening;
  }

  /** True once the ack consumer joined its group (acks sent from then on are read). */
  get ready(): boolean {
    return this.assigned;
  }

  /** Agents connected to this instance now, as `deployment/node`. */
  connectedAgents(): string[] {
    return [...this.sessions.values()].filter((x) => x.open).map((x) => `${x.peer.deployment}/${x.peer.node}`);
  }

  /** Listens on the control channel, then on the acks topic; acks of either way go to `onAck`. */
  async start(onAck: (m: RolloutAckV1) => void): Promise<void> {
    this.onAck = onAck;
    this.controlPort = await this.control.listen(this.settings.ROLLOUT_CONTROL_PORT, this.settings.ROLLOUT_CONTROL_HOST);
    this.listening = true;
    const tls = !!this.settings.ROLLOUT_CONTROL_TLS_CERT;
    this.logger.info({ port: this.controlPort, host: this.settings.ROLLOUT_CONTROL_HOST, tls }, 'control channel listening');
    this.producer = await this.bus.producer({ compression: 'none' });
    // A group per instance, reading from the log end: every instance sees every ack and keeps
    // those of the deployments it holds; acks missed while down are recovered by resends.
    this.consumer = this.bus.consumer({
      groupId: rolloutGroup(this.config.KAFKA_GROUP_PREFIX, this.instance.id),
      topics: [TOPICS.rolloutAcks],
      fromBeginning: false,
      onAssignment: () => {
        this.assigned = true;
      },
    });
    await this.consumer.run(async (batch) => {
      for (const m of batch.messages) {
        const p = parseRolloutAck(m.value);
        if (!p.ok) {
          this.drop('invalid', { reason: p.reason }, 'invalid rollout ack dropped');
          continue;
        }
        // signed by a token of the node it names, and an ack only for that node's own ranks
        const { deployment, node } = p.message;
        if (p.message.type === 'ack' && p.message.ack.agent !== node) {
          this.drop('other agent', { deployment, node, agent: p.message.ack.agent }, 'ack on Kafka for another agent dropped');
          continue;
        }
        if (!(await this.publicKeys.verify(deployment, node, m.value as Buffer, m.headers[ROLLOUT_SIGNATURE_HEADER]))) {
          this.drop('unsigned', { deployment, node, type: p.message.type }, 'agent message on Kafka without a valid signature of its node\'s enrolled key dropped');
          continue;
        }
        this.receiveFresh(p.message);
      }
    });
  }

  async close(): Promise<void> {
    this.listening = false;
    await this.control.close();
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }

  /**
   * Sends each command, bound to its rollout, the sender's fence generation and an expiry, over the
   * agent's direct control channel when it has one to this instance (sealed with the connection's
   * key), else over Kafka (signed with the service's key; every agent also listens there). Agents execute idempotently, so a
   * command that arrives both ways, or again after a resend, is answered and not run twice.
   */
  async send(deployment: string, binding: CommandBinding, commands: readonly RolloutAgentCommand[]): Promise<void> {
    if (commands.length === 0) return;
    const sentAt = Date.now();
    const viaKafka: string[] = [];
    // An agent's commands of one call (a step's commit of one layer and prepare of a later one)
    // leave in one write, each its own sealed line in the order decided: one wake-up of the agent.
    for (const [agent, values] of valuesByAgent(deployment, binding, sentAt, commands)) {
      const sess = this.sessions.get(`${deployment}/${agent}`);
      if (sess?.open && sess.sendLines(values.map((value) => sess.peer.session.sealer.seal(value)))) {
        this.stats.commandsSentDirect += values.length;
        commandsSent.inc({ transport: 'direct' }, values.length);
      } else viaKafka.push(...values);
    }
    this.stats.commandsSent += commands.length;
    if (viaKafka.length === 0) return;
    if (!this.producer) throw new Error('Kafka producer not started');
    const messages = viaKafka.map((value) => ({ key: deployment, value, headers: { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(this.signingKey.privateKey, value) } }));
    await this.producer.send(TOPICS.rolloutCommands, messages);
    commandsSent.inc({ transport: 'kafka' }, viaKafka.length);
  }

  private link(key: string): AgentLink {
    const sess = this.sessions.get(key);
    return sess ? { open: sess.open, principal: sess.peer.principal } : undefined;
  }

  /** A signed agent message from either transport, taken only before it expires (a replay later changes nothing). */
  private receiveFresh(m: RolloutAckV1): void {
    if (m.expiresAt <= Date.now()) {
      this.drop('expired', { deployment: m.deployment, node: m.node, type: m.type, expiredMsAgo: Date.now() - m.expiresAt }, 'expired agent message dropped');
      return;
    }
    this.receive(m);
  }

  /** An agent message from either transport: recorded in the registry; acks handed on. */
  private receive(m: RolloutAckV1): void {
    this.registry.heard(m, this.link(`${m.deployment}/${m.node}`));
    if (m.type === 'ack') this.onAck(m);
  }

  private onSession(sess: ControlSession<AgentPeer>): void {
    const { deployment, node, ranks, principal } = sess.peer;
    const key = `${deployment}/${node}`;
    const old = this.sessions.get(key);
    // one connection per agent: a reconnect replaces the old one
    if (old && old !== sess) {
      old.close(); // (its onClose does not fire: closed here)
      agentsConnected.dec({ deployment: old.peer.deployment });
    }
    this.sessions.set(key, sess);
    this.registry.connected(deployment, node, ranks, this.link(key));
    agentsConnected.inc({ deployment });
    this.logger.info({ deployment, node, principal, remote: sess.remote }, 'agent connected');
    void this.recordConnected({
      stream: `agents:${deployment}`,
      type: 'agent.connected',
      payload: { node, ranks, remote: sess.remote, instance: this.instance.id },
      actor: `token:${principal}`,
      reason: `agent of node ${node} connected to rollout instance ${this.instance.id}`,
      correlationId: this.instance.id,
    });
  }

  /**
   * The audit log's record of a connection, written until it is stored: a Postgres restart or a
   * dead pooled connection at that moment must not leave a connection the log never saw (the
   * session goes on regardless). Retried with back-off while the service runs.
   */
  private async recordConnected(event: NewEvent): Promise<void> {
    for (let attempt = 0; this.listening; attempt++) {
      try {
        await this.events.append([event]);
        if (attempt > 0) this.logger.info({ stream: event.stream, attempts: attempt + 1 }, 'agent.connected recorded after retries');
        return;
      } catch (e) {
        const waitMs = Math.min(5_000, 200 * 2 ** Math.min(attempt, 5));
        this.logger.warn({ stream: event.stream, err: (e as Error).message, attempt, waitMs }, 'agent.connected not recorded yet: retried');
        await new Promise((r) => setTimeout(r, waitMs).unref());
      }
    }
  }

  private onSessionClosed(sess: ControlSession<AgentPeer>): void {
    const key = `${sess.peer.deployment}/${sess.peer.node}`;
    if (this.sessions.get(key) === sess) {
      this.sessions.delete(key);
      this.registry.disconnected(sess.peer.deployment, sess.peer.node, sess.peer.ranks);
    }
    agentsConnected.dec({ deployment: sess.peer.deployment });
    this.logger.info({ deployment: sess.peer.deployment, node: sess.peer.node }, 'agent disconnected');
  }

  private onControlLine(sess: ControlSession<AgentPeer>, line: string): void {
    // sealed with this connection's key (agreed in its signed hello and welcome), next in its sequence
    const opened = sess.peer.session.opener.open(line);
    if (!opened.ok) {
      this.drop('unsigned', { remote: sess.remote, deployment: sess.peer.deployment, node: sess.peer.node, reason: opened.reason }, 'control message not sealed with its connection\'s key dropped');
      return;
    }
    const p = parseRolloutAck(opened.value);
    if (!p.ok) {
      this.drop('invalid', { remote: sess.remote, reason: p.reason }, 'invalid control message dropped');
      return;
    }
    // a connection speaks for the node its hello was accepted for, and for nothing else
    const m = p.message;
    const ranksOk = m.type === 'ack' ? m.ack.agent === sess.peer.node : sameRanks(m.ranks, sess.peer.ranks);
    if (m.deployment !== sess.peer.deployment || m.node !== sess.peer.node || !ranksOk) {
      this.drop('other agent', { remote: sess.remote, deployment: m.deployment, node: m.node }, 'control message for another agent dropped');
      return;
    }
    this.receiveFresh(p.message);
  }

  /** An agent message not taken: counted (stats, metric by reason) and logged. */
  private drop(reason: 'invalid' | 'other agent' | 'unsigned' | 'expired', fields: object, msg: string): void {
    this.stats.invalidMessages++;
    agentMessagesDropped.inc({ reason });
    this.logger.warn(fields, msg);
  }
}

/** Each command as the JSON of its message, grouped by the agent it is for (each group in the order given). */
function valuesByAgent(deployment: string, binding: CommandBinding, sentAt: number, commands: readonly RolloutAgentCommand[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const command of commands) {
    const msg: RolloutCommandV1 = { v: 1, deployment, ...binding, expiresAt: sentAt + ROLLOUT_MESSAGE_TTL_MS, command, sentAt };
    const values = out.get(command.agent);
    if (values) values.push(JSON.stringify(msg));
    else out.set(command.agent, [JSON.stringify(msg)]);
  }
  return out;
}
