import { bootstrapHttpApp, runMain } from '@eplb/platform';
import { SchedulerModule } from './scheduler.module';

runMain('scheduler', (config, logger) =>
  bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: config.HTTP_HOST, port: config.SCHEDULER_PORT }),
);
