import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { AppConfig, bootstrapHttpApp, createLogger } from '@eplb/platform';
import { RolloutModule } from '../../apps/rollout/src/rollout.module';
import { RolloutSettings, loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { eventually } from './apps';

/**
 * Rollout settings for a test: a fast tick, poll and resend so a rollout of a few small layers
 * finishes in seconds, and an ephemeral control port; `overrides` (the same variables as the
 * environment's) set what the test is about, e.g. the prepare timeout or the analysis gate.
 */
export function testRolloutSettings(overrides: Record<string, string> = {}): RolloutSettings {
  return loadRolloutSettings({
    ROLLOUT_TICK_MS: '20',
    ROLLOUT_POLL_MS: '100',
    ROLLOUT_RESEND_MS: '1000',
    ROLLOUT_PREPARE_TIMEOUT_MS: '20000',
    ROLLOUT_CONTROL_PORT: '0',
    ...overrides,
  });
}

export interface RunningRolloutApp {
  readonly app: INestApplication;
  readonly service: RolloutService;
  readonly url: string;
}

/**
 * The real rollout service on an ephemeral port, returned once its /readyz answers 200: the
 * control channel listens, its ack consumer joined its group (acks sent from then on are read),
 * the lock loop runs and the rollouts streams were read.
 */
export async function startRolloutApp(config: AppConfig, settings: RolloutSettings, name = 'rollout'): Promise<RunningRolloutApp> {
  const logger = createLogger(name, config.LOG_LEVEL);
  const app = await bootstrapHttpApp({ name, module: RolloutModule.forRoot(config, logger, settings), logger, host: '127.0.0.1', port: 0 });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/readyz`)).ok, 60_000);
  return { app, service: app.get(RolloutService), url };
}

/**
 * Waits until the API's agent registry shows a live agent (connected or heard over Kafka) on every
 * node of the deployment: the API refuses a rollout to nodes without one.
 */
export async function agentsLive(apiUrl: string, deployment: string, token: string, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    const r = await fetch(`${apiUrl}/v1/deployments/${deployment}/agents`, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) return false;
    const body = (await r.json()) as { agents: { status: string }[] };
    return body.agents.every((a) => a.status === 'connected' || a.status === 'kafka-only');
  }, timeoutMs, 100);
}
