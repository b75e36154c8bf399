import { bootstrapHttpApp, runMain } from '@eplb/platform';
import { AgentModule } from './agent.module';

runMain('agent', (config, logger) =>
  bootstrapHttpApp({ name: 'agent', module: AgentModule.forRoot(config, logger), logger, host: config.HTTP_HOST, port: config.AGENT_PORT }),
);
