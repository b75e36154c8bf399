import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApiTokenRepository } from '@eplb/persistence';
import { APP_CONFIG, AppConfig, DEV_BOOTSTRAP_TOKEN, LOGGER } from '@eplb/platform';

/** Registers EPLB_BOOTSTRAP_TOKEN as an operator token, so the first operator can issue others. */
@Injectable()
export class BootstrapTokenService implements OnApplicationBootstrap {
  constructor(
    private readonly tokens: ApiTokenRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const token = this.config.EPLB_BOOTSTRAP_TOKEN ?? DEV_BOOTSTRAP_TOKEN;
    if (token === DEV_BOOTSTRAP_TOKEN) {
      this.logger.warn('using the development bootstrap operator token; set EPLB_BOOTSTRAP_TOKEN outside development');
    }
    await this.tokens.ensureBootstrap(token);
  }
}
