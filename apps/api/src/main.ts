import { bootstrapHttpApp, runMain } from '@eplb/platform';
import { ApiModule } from './app.module';
import { configureApiBodyParser } from './body-parser';

runMain('api', (config, logger) =>
  bootstrapHttpApp({
    name: 'api',
    module: ApiModule.forRoot(config, logger),
    logger,
    host: config.HTTP_HOST,
    port: config.API_PORT,
    docs: { title: 'EPLB control plane API', description: 'Admin (operator), analyst and agent API of the EPLB control plane.' },
    beforeListen: configureApiBodyParser,
  }),
);
