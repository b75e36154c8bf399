import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { MESSAGE_BUS, MessageBus } from '@eplb/messaging';
import { APP_CONFIG, AppConfig, DEV_BOOTSTRAP_TOKEN, LOGGER } from '@eplb/platform';
import { AgentBackend, AgentMapFile, createAgentBackend } from './agent-backend';
import { loadAgentKeys } from './agent-keys';
import { AGENT_SETTINGS, AgentSettings } from './agent-settings';
import { AgentRuntime } from './agent-runtime';
import { AgentStatePersistence, AgentStateStore } from './agent-state';

/** The agent app: the device backend of its node's ranks (AGENT_BACKEND: simulated or torch), driven over Kafka and its control channel. */
@Injectable()
export class AgentService implements OnApplicationBootstrap, OnApplicationShutdown {
  backend: AgentBackend | null = null;
  runtime: AgentRuntime | null = null;
  state: AgentStatePersistence | null = null;

  constructor(
    @Inject(AGENT_SETTINGS) private readonly settings: AgentSettings,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const s = this.settings;
    if (!s.AGENT_DEPLOYMENT || !s.AGENT_MAP_FILE) {
      this.logger.warn('AGENT_DEPLOYMENT / AGENT_MAP_FILE not set: the agent stays idle');
      return;
    }
    const deployment = s.AGENT_DEPLOYMENT;
    // Outside production an agent may present the development operator token; in production it
    // needs its own (an agent token scoped to its node): it authenticates both its control
    // connections and its messages on Kafka, which the service drops unsigned.
    const token = s.AGENT_TOKEN ?? (this.config.NODE_ENV === 'production' ? undefined : (this.config.EPLB_BOOTSTRAP_TOKEN ?? DEV_BOOTSTRAP_TOKEN));
    if (!token) throw new Error('AGENT_TOKEN is required in production: issue one with `eplb tokens issue NAME --role agent --deployment ID --node N`');
    const file = JSON.parse(readFileSync(s.AGENT_MAP_FILE, 'utf8')) as AgentMapFile;
    this.backend = createAgentBackend(s, file);
    // The device memory outlives the agent process: pick up what the ranks held (and had staged)
    // when the previous agent process stopped, and the command ledgers. A state dir that cannot
    // be written stops the start here (store.load creates it, writeNow writes it).
    if (s.AGENT_STATE_EPHEMERAL) {
      if (this.config.NODE_ENV === 'production') throw new Error('AGENT_STATE_EPHEMERAL=true is refused in production: an agent without its ledger would run replayed commands again');
      this.logger.warn('AGENT_STATE_EPHEMERAL=true: no state kept across restarts (a restart starts from AGENT_MAP_FILE)');
    } else {
      const store = new AgentStateStore(s.AGENT_STATE_DIR, deployment, s.AGENT_NODE);
      try {
        const saved = store.load();
        if (saved) this.backend.restore(saved.backend);
        this.state = new AgentStatePersistence(store, this.backend, saved);
        await this.state.writeNow();
        this.logger.info(
          { path: store.path, restored: saved !== null, savedAt: saved?.savedAt, staged: this.backend.stagedLayers(), rollouts: Object.keys(saved?.ledgers ?? {}).length },
          saved ? 'agent state restored' : 'agent state: none saved yet',
        );
      } catch (e) {
        throw new Error(`agent state in ${s.AGENT_STATE_DIR} cannot be kept: ${(e as Error).message} (set AGENT_STATE_DIR to a writable directory; AGENT_STATE_EPHEMERAL=true only for tests and simulations)`);
      }
    }
    const keys = loadAgentKeys(s, this.config.NODE_ENV === 'production', deployment, s.AGENT_NODE);
    this.logger.info({ key: keys.ownFrom, serviceKey: keys.serviceFrom }, 'agent signing keys');
    const port = await this.backend.start();
    this.runtime = new AgentRuntime({
      deployment,
      node: s.AGENT_NODE,
      ranks: this.backend.ranks,
      backend: this.backend.backend,
      bus: this.bus,
      groupPrefix: this.config.KAFKA_GROUP_PREFIX,
      ...(this.state ? { state: this.state } : {}),
      heartbeatMs: s.AGENT_HEARTBEAT_MS,
      token,
      keys,
      ...(s.AGENT_CONTROL_ENDPOINTS.length > 0
        ? {
            control: {
              endpoints: s.AGENT_CONTROL_ENDPOINTS,
              heartbeatMs: s.AGENT_HEARTBEAT_MS,
              ...(s.AGENT_CONTROL_TLS
                ? { tls: { ...(s.AGENT_CONTROL_TLS_CA ? { ca: readFileSync(s.AGENT_CONTROL_TLS_CA) } : {}), ...(s.AGENT_CONTROL_TLS_SERVERNAME ? { servername: s.AGENT_CONTROL_TLS_SERVERNAME } : {}) } }
                : {}),
            },
          }
        : {}),
      log: (level, msg, extra) => this.logger[level](extra ?? {}, msg),
    });
    await this.runtime.start();
    this.logger.info({ deployment: s.AGENT_DEPLOYMENT, node: s.AGENT_NODE, ranks: this.backend.ranks, backend: this.backend.kind, port }, 'agent started');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime?.close();
    await this.backend?.close();
  }
}
