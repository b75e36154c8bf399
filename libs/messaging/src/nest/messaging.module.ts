import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig, kafkaSasl, LOGGER } from '@eplb/platform';
import type { Logger } from 'pino';
import { KafkajsBus } from '../kafkajs/kafkajs-bus';
import type { MessageBus } from '../message-bus';

export const MESSAGE_BUS = Symbol('MESSAGE_BUS');

@Injectable()
export class KafkaCheck {
  readonly name = 'kafka';
  constructor(@Inject(MESSAGE_BUS) private readonly bus: MessageBus) {}
  check(): Promise<void> {
    return this.bus.ping(2000);
  }
}

/** The app's one MessageBus (Kafka), closed on shutdown; KafkaCheck for /readyz. */
@Global()
@Module({
  providers: [
    {
      provide: MESSAGE_BUS,
      inject: [APP_CONFIG, LOGGER],
      useFactory: (config: AppConfig, logger: Logger): MessageBus =>
        new KafkajsBus({
          brokers: config.KAFKA_BROKERS,
          sasl: kafkaSasl(config),
          clientId: `eplb-${(logger.bindings() as { app?: string }).app ?? 'app'}`,
          log: (level, message, extra) => logger[level](extra, message),
        }),
    },
    KafkaCheck,
  ],
  exports: [MESSAGE_BUS, KafkaCheck],
})
export class MessagingModule implements OnApplicationShutdown {
  constructor(@Inject(MESSAGE_BUS) private readonly bus: MessageBus) {}
  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
