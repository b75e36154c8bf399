import { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { CONSUMER_GROUPS, topicSpecsFor } from '@eplb/contracts';
import { KafkaBatchTransport, MESSAGE_BUS, MessageBus } from '@eplb/messaging';
import { AppConfig, bootstrapHttpApp } from '@eplb/platform';
import { CollectorModule } from './collector.module';
import { HeatIngestService } from './heat/heat-ingest.service';

/** Starts the collector as a hybrid app (HTTP for health, Kafka batches for heat); used by main and tests. */
/**
 * `onConsumerStopped`: what the process does once the heat consumer stopped for good (the Kafka
 * client gave up). Readiness says why in any case; the deployable exits so that a fresh collector
 * takes the partitions over, while an embedding process (a test, a bench) decides for itself.
 */
export async function startCollector(
  config: AppConfig,
  logger: Logger,
  port = config.COLLECTOR_PORT,
  onConsumerStopped: (app: INestApplication, reason: Error) => void = () => undefined,
): Promise<INestApplication> {
  return bootstrapHttpApp({
    name: 'collector',
    module: CollectorModule.forRoot(config, logger),
    logger,
    host: config.HTTP_HOST,
    port,
    beforeListen: async (app) => {
      const bus = app.get<MessageBus>(MESSAGE_BUS);
      // its own topics only: on a broker with ACLs the collector sees (and may create) no others
      await bus.ensureTopics(topicSpecsFor('collector', config.KAFKA_HEAT_PARTITIONS));
      const ingest = app.get(HeatIngestService);
      const transport = new KafkaBatchTransport({
        bus,
        groupId: CONSUMER_GROUPS.collector(config.KAFKA_GROUP_PREFIX),
        fromBeginning: config.COLLECTOR_START_FROM === 'earliest',
        onAssignment: (assigned) => ingest.onAssignment(assigned),
        // No heat would be read any more while /healthz still said alive: say why (readiness),
        // and let the process act (main.ts exits)
        onStopped: (reason) => {
          ingest.onConsumerStopped(reason);
          logger.fatal({ err: reason }, 'the heat consumer stopped for good');
          onConsumerStopped(app, reason);
        },
      });
      app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
      await app.startAllMicroservices();
    },
  });
}
