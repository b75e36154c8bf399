import { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { CONSUMER_GROUPS, topicSpecsFor } from '@eplb/contracts';
import { KafkaBatchTransport, MESSAGE_BUS, MessageBus } from '@eplb/messaging';
import { AppConfig, bootstrapHttpApp } from '@eplb/platform';
import { CollectorModule } from './collector.module';
import { HeatIngestService } from './heat/heat-ingest.service';

/** Starts the collector as a hybrid app (HTTP for health, Kafka batches for heat); used by main and tests. */
export async function startCollector(config: AppConfig, logger: Logger, port = config.COLLECTOR_PORT): Promise<INestApplication> {
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
        // No heat would be read any more while /healthz still said alive: say why, and exit so
        // that a fresh collector (the supervisor's restart) takes the partitions over.
        onStopped: (reason) => {
          ingest.onConsumerStopped(reason);
          logger.fatal({ err: reason }, 'the heat consumer stopped for good; exiting');
          void app.close().finally(() => process.exit(1));
        },
      });
      app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
      await app.startAllMicroservices();
    },
  });
}
