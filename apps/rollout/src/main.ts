import { bootstrapHttpApp, runMain } from '@eplb/platform';
import { RolloutModule } from './rollout.module';

runMain('rollout', (config, logger) =>
  bootstrapHttpApp({ name: 'rollout', module: RolloutModule.forRoot(config, logger), logger, host: config.HTTP_HOST, port: config.ROLLOUT_PORT }),
);
