import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, RedisCheck, RedisModule } from '@eplb/platform';
import { loadRolloutSettings, ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';
import { HeatAnalysis } from './heat-analysis';
import { RolloutService } from './rollout.service';

/**
 * Map-version rollouts. Depends on Postgres (event log, map versions, the collector's heat for
 * analysis gates), Kafka (agent commands and acks when an agent has no direct control
 * connection) and Redis (the per-deployment rollout lock).
 */
@Module({})
export class RolloutModule {
  static forRoot(config: AppConfig, logger: Logger, settings: RolloutSettings = loadRolloutSettings()): DynamicModule {
    return {
      module: RolloutModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, MessagingModule, RedisModule],
      controllers: [...healthControllers],
      providers: [readinessChecks(PostgresCheck, KafkaCheck, RedisCheck), { provide: ROLLOUT_SETTINGS, useValue: settings }, HeatAnalysis, RolloutService],
    };
  }
}
