import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks } from '@eplb/platform';
import { HeatConsumerCheck } from './heat/consumer.check';
import { DeploymentCache } from './heat/deployment-cache';
import { HeatIngestController } from './heat/heat-ingest.controller';
import { HeatDeadLetters } from './heat/heat-dead-letters';
import { HeatIngestService } from './heat/heat-ingest.service';

/** Kafka heat consumer → Postgres; HTTP only for health and metrics. */
@Module({})
export class CollectorModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: CollectorModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, MessagingModule],
      controllers: [...healthControllers, HeatIngestController],
      providers: [readinessChecks(PostgresCheck, KafkaCheck, HeatConsumerCheck), HeatConsumerCheck, DeploymentCache, HeatDeadLetters, HeatIngestService],
    };
  }
}
