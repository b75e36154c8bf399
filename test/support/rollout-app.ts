import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { AppConfig, bootstrapHttpApp, createLogger } from '@eplb/platform';
import { RolloutModule } from '../../apps/rollout/src/rollout.module';
import { RolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { eventually } from './apps';

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
