import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { KafkaCheck, MessagingModule } from '@eplb/messaging';
import { AppConfig, ConfigModule, healthControllers, LoggingModule, readinessChecks } from '@eplb/platform';

/**
 * Runs beside an inference engine on one node. It talks to the control plane only through Kafka
 * (commands in, progress out), never to its database; the device backend arrives with its issue.
 */
@Module({})
export class AgentModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AgentModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(logger), MessagingModule],
      controllers: [...healthControllers],
      providers: [readinessChecks(KafkaCheck)],
    };
  }
}
