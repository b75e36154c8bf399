import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, RedisCheck, RedisModule } from '@eplb/platform';
import { PolicyQueue } from './policy-queue';
import { HeatRetentionJob } from './retention/heat-retention.job';

/** BullMQ jobs: heat retention now; policy runs per deployment arrive with the scheduling issue. */
@Module({})
export class SchedulerModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, RedisModule],
      controllers: [...healthControllers],
      providers: [readinessChecks(PostgresCheck, RedisCheck), PolicyQueue, HeatRetentionJob],
    };
  }
}
