import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks } from '@eplb/platform';
import { AGENT_SETTINGS, AgentSettings, loadAgentSettings } from './agent-settings';
import { AgentReadinessCheck } from './agent-readiness.check';
import { AgentService } from './agent.service';

/**
 * Runs beside an inference engine on one node. It talks to the control plane only through Kafka
 * (commands in, acks and holdings out), never to its database.
 */
@Module({})
export class AgentModule {
  static forRoot(config: AppConfig, logger: Logger, settings: AgentSettings = loadAgentSettings()): DynamicModule {
    return {
      module: AgentModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), MessagingModule],
      controllers: [...healthControllers],
      providers: [readinessChecks(KafkaCheck, AgentReadinessCheck), { provide: AGENT_SETTINGS, useValue: settings }, AgentService, AgentReadinessCheck],
    };
  }
}
