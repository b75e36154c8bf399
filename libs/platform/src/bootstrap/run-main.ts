import 'reflect-metadata';
import type { Logger } from 'pino';
import { AppConfig, loadConfig } from '../config/config';
import { createLogger } from '../logging/logger';
import { installProcessGuards } from './http-app';
import { missingNodeFlags } from './node-flags';

/** The `main.ts` of every app: validated config, structured logger, one clear line if start fails. */
export function runMain(app: string, start: (config: AppConfig, logger: Logger) => Promise<unknown>): void {
  let logger: Logger | undefined;
  (async () => {
    const config = loadConfig();
    logger = createLogger(app, config.LOG_LEVEL);
    installProcessGuards(logger);
    const missing = missingNodeFlags(app);
    if (missing.length > 0) logger.warn({ missing }, `${app} started without ${missing.join(' ')} (libs/platform node-flags.ts says why): expect more garbage collection pauses`);
    await start(config, logger);
  })().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (logger) logger.fatal({ err }, `${app} failed to start`);
    process.stderr.write(`${app} failed to start: ${message}\n`);
    process.exit(1);
  });
}
