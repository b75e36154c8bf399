export * from './message-bus';
export { KafkajsBus, type KafkajsBusOptions } from './kafkajs/kafkajs-bus';
export { KafkaBatchTransport, type KafkaBatchTransportOptions } from './nest/kafka-batch.transport';
export { MessagingModule, MESSAGE_BUS, KafkaCheck } from './nest/messaging.module';
export { HeatPublisher, HeatPublishError, InvalidHeatEventError, type HeatPublisherOptions, type HeatPublisherStats } from './publishers/heat-publisher';
export {
  ControlServer,
  ControlClient,
  LineReader,
  parseControlEndpoints,
  type ControlSession,
  type ControlEndpoint,
  type Authentication,
  type ControlServerOptions,
  type ControlClientOptions,
} from './control/control-channel';
export { loadOrCreateSigningKey, readSigningKey } from './signing/signing-key-file';
