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
    if (this.config.NODE_ENV === 'production') {
      if (!this.config.EPLB_BOOTSTRAP_TOKEN) throw new Error('EPLB_BOOTSTRAP_TOKEN is required in production: the first operator token (24+ characters; not the published development token)');
      // a database that served a development setup still holds the published token: it stops working here
      if (await this.tokens.revokeByToken(DEV_BOOTSTRAP_TOKEN, { actor: 'system', reason: 'the published development token is refused in production', correlationId: 'bootstrap' })) {
        this.logger.warn('revoked the development bootstrap token found in the database');
      }
    }
    const token = this.config.EPLB_BOOTSTRAP_TOKEN ?? DEV_BOOTSTRAP_TOKEN;
    if (token === DEV_BOOTSTRAP_TOKEN) {
      this.logger.warn('using the development bootstrap operator token; set EPLB_BOOTSTRAP_TOKEN outside development');
    }
    await this.tokens.ensureBootstrap(token);
  }
}
