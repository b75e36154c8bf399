import type { NestExpressApplication } from '@nestjs/platform-express';
import { bootstrapHttpApp, runMain } from '@eplb/platform';
import { ApiModule } from './app.module';

runMain('api', (config, logger) =>
  bootstrapHttpApp({
    name: 'api',
    module: ApiModule.forRoot(config, logger),
    logger,
    host: config.HTTP_HOST,
    port: config.API_PORT,
    docs: { title: 'EPLB control plane API', description: 'Admin (operator), analyst and agent API of the EPLB control plane.' },
    // Map imports (POST /v1/deployments/:id/maps) carry whole engine map files: a DeepSeek-V3
    // vllm-ascend map is a few hundred kB, above the 100 kB default of the JSON parser.
    beforeListen: async (app) => {
      (app as NestExpressApplication).useBodyParser('json', { limit: '16mb' });
    },
  }),
);
