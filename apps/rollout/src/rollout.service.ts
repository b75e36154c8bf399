import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { topicSpecsFor } from '@eplb/contracts';
import { RolloutState } from '@eplb/domain';
import { MESSAGE_BUS, MessageBus } from '@eplb/messaging';
import { APP_CONFIG, AppConfig, LOGGER } from '@eplb/platform';
import { AgentGateway } from './agents/agent-gateway';
import { AgentRegistry } from './agents/agent-registry';
import { RolloutDrivers } from './driving/rollout-drivers';
import { RolloutLog } from './driving/rollout-log';
import { RolloutRequestsPoller } from './driving/rollout-requests.poller';
import { RolloutRunner } from './driving/rollout-runner';
import { AutoDeployer } from './loop/auto-deployer';
import { OutcomeRecorder } from './outcome/outcome-recorder';
import { RolloutInstance } from './rollout-instance';
import { RolloutLock } from './rollout-lock';
import { RolloutLockRenewal } from './rollout-lock-renewal';
import { ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';
import { RolloutStats } from './rollout-stats';

/**
 * The rollout service's life: starts the agent gateway, the request poll, the clock, the automatic
 * loop, the lock renewal and the outcome recorder in that order, and stops them — gracefully (held-back rows written, locks released) or,
 * for tests, as a crash would. What it drives and how is in driving/ and agents/; this is also
 * the face tests and benchmarks read the instance through.
 */
@Injectable()
export class RolloutService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly instance: RolloutInstance,
    readonly stats: RolloutStats,
    private readonly drivers: RolloutDrivers,
    private readonly poller: RolloutRequestsPoller,
    private readonly runner: RolloutRunner,
    private readonly log: RolloutLog,
    private readonly lock: RolloutLock,
    private readonly renewal: RolloutLockRenewal,
    private readonly gateway: AgentGateway,
    private readonly registry: AgentRegistry,
    private readonly loop: AutoDeployer,
    private readonly outcomes: OutcomeRecorder,
  ) {}

  get instanceId(): string {
    return this.instance.id;
  }

  /** The port of the direct control channel agents dial. */
  get controlChannelPort(): number {
    return this.gateway.controlChannelPort;
  }

  /** Agents connected to this instance now, as `deployment/node`. */
  connectedAgents(): string[] {
    return this.gateway.connectedAgents();
  }

  /** True once the ack consumer joined its group (acks sent from then on are read). */
  get ready(): boolean {
    return this.gateway.ready;
  }

  /** Latest holdings report per `deployment/node` (what the agents say they hold). */
  get holdings(): AgentRegistry['holdings'] {
    return this.registry.holdings;
  }

  /** Last sign of life per `deployment/node` (heartbeat, holdings, ack; either transport). */
  get lastSeen(): AgentRegistry['lastSeen'] {
    return this.registry.lastSeen;
  }

  /** Deployments this instance drives now. */
  driving(): string[] {
    return this.drivers.deployments();
  }

  /** The state of a rollout this instance drives (null otherwise). */
  stateOf(deployment: string): RolloutState | null {
    return this.drivers.get(deployment)?.state ?? null;
  }

  /** One pass of the automatic loop now (the timer runs one every ROLLOUT_AUTO_POLL_MS). */
  autoLoop(): Promise<void> {
    return this.loop.tick();
  }

  /** Reads the rollouts streams now and drives what is there (the timer does so every ROLLOUT_POLL_MS). */
  poll(): Promise<void> {
    return this.poller.poll();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.ensureTopics(topicSpecsFor('rollout', this.config.KAFKA_HEAT_PARTITIONS)).catch((e: Error) => this.logger.warn({ err: e.message }, 'ensureTopics'));
    await this.gateway.start((ack) => this.runner.receiveAck(ack));
    this.timers.push(setInterval(() => void this.poller.poll(), this.settings.ROLLOUT_POLL_MS));
    this.timers.push(setInterval(() => this.runner.tick(() => void this.poller.poll()), this.settings.ROLLOUT_TICK_MS));
    this.timers.push(setInterval(() => void this.loop.tick(), this.settings.ROLLOUT_AUTO_POLL_MS));
    this.renewal.start();
    this.outcomes.start();
    void this.poller.poll();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopLoops();
    await this.outcomes.stop();
    await this.poller.drain();
    await this.loop.drain();
    for (const d of this.drivers.all()) {
      await d.serial(() => this.log.flushUnrecorded(d)).catch(() => undefined);
      await d.writes;
      d.stopped = true;
      await this.lock.release(d.deployment).catch(() => undefined);
    }
    this.drivers.clear();
    await this.gateway.close();
  }

  /** Stops driving without releasing anything: what a crash looks like to the others (tests). */
  async crash(): Promise<void> {
    this.stopLoops();
    await this.outcomes.stop();
    for (const d of this.drivers.all()) d.stopped = true;
    this.drivers.clear();
    await this.gateway.close();
  }

  private stopLoops(): void {
    this.drivers.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.renewal.stop();
  }
}
