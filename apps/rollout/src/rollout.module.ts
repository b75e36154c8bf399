import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, RedisCheck, RedisModule } from '@eplb/platform';

/**
 * Map versions and rollouts. Depends on Postgres (versions, event log), Kafka (agent commands
 * and acks) and Redis (the per-deployment rollout lock); the state machine arrives with its issue.
 */
@Module({})
export class RolloutModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: RolloutModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, MessagingModule, RedisModule],
      controllers: [...healthControllers],
      providers: [readinessChecks(PostgresCheck, KafkaCheck, RedisCheck)],
    };
  }
}
