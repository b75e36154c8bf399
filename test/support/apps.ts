import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { ApiModule } from '../../apps/api/src/app.module';
import { configureApiBodyParser } from '../../apps/api/src/body-parser';
import { startCollector } from '../../apps/collector/src/start-collector';
import { AppConfig, bootstrapHttpApp, createLogger } from '@eplb/platform';

export interface RunningApp {
  readonly app: INestApplication;
  readonly url: string;
  close(): Promise<void>;
}

const running = (app: INestApplication): RunningApp => {
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
};

/** The real API app on an ephemeral port, with its body parsers as main.ts sets them up. */
export async function startApi(config: AppConfig): Promise<RunningApp> {
  const logger = createLogger('api', config.LOG_LEVEL);
  const app = await bootstrapHttpApp({
    name: 'api',
    module: ApiModule.forRoot(config, logger),
    logger,
    host: '127.0.0.1',
    port: 0,
    docs: { title: 'test', description: 'test' },
    beforeListen: configureApiBodyParser,
  });
  return running(app);
}

/**
 * The real collector (HTTP + Kafka batch transport) on an ephemeral port, returned once its
 * consumer joined the group: with COLLECTOR_START_FROM=latest, what a test sends next is read.
 */
export async function startTestCollector(config: AppConfig): Promise<RunningApp> {
  const logger = createLogger('collector', config.LOG_LEVEL);
  const app = running(await startCollector(config, logger, 0));
  await eventually(async () => (await fetch(`${app.url}/readyz`)).ok, 60_000);
  return app;
}

export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}
