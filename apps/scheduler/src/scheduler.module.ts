import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { DatabaseModule, PostgresCheck } from '@eplb/persistence';
import { PlanningModule } from '@eplb/planning';
import { PolicyRunJob } from './policy/policy-run.job';
import { PolicySchedules } from './policy/policy-schedules';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks, RedisCheck, RedisModule } from '@eplb/platform';
import { JobSchedules } from './job-schedules';
import { PolicyQueue } from './policy-queue';
import { HeatRetentionJob } from './retention/heat-retention.job';

/** BullMQ jobs: a policy run per deployment on its cadence, and heat retention. */
@Module({})
export class SchedulerModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), DatabaseModule, RedisModule, PlanningModule],
      controllers: [...healthControllers],
      providers: [
        readinessChecks(PostgresCheck, RedisCheck),
        PolicyQueue,
        JobSchedules,
        HeatRetentionJob,
        PolicyRunJob,
        PolicySchedules,
      ],
    };
  }
}
