import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { lastValueFrom, defaultIfEmpty } from 'rxjs';
import type { BatchContext, BatchResult, MessageBatch, MessageBus, MessageConsumer } from '../message-bus';

export interface KafkaBatchTransportOptions {
  readonly bus: MessageBus;
  readonly groupId: string;
  readonly fromBeginning?: boolean;
  readonly onAssignment?: (assigned: Record<string, number[]>) => void;
  readonly onStopped?: (reason: Error) => void;
}

/**
 * A Nest microservice transport that hands whole partition batches to `@EventPattern(topic)`
 * handlers. Nest's built-in Kafka transport delivers one message at a time and commits on its
 * own schedule; the collector needs batches (one database transaction per batch) and offsets
 * committed only after that transaction, so it gets this strategy over our MessageBus.
 */
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private consumer: MessageConsumer | null = null;

  constructor(private readonly options: KafkaBatchTransportOptions) {
    super();
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    const topics = [...this.messageHandlers.keys()];
    if (topics.length === 0) {
      callback(new Error('KafkaBatchTransport: no @EventPattern(topic) handler registered'));
      return;
    }
    this.consumer = this.options.bus.consumer({
      groupId: this.options.groupId,
      topics,
      fromBeginning: this.options.fromBeginning ?? true,
      onAssignment: this.options.onAssignment,
      onStopped: this.options.onStopped,
    });
    this.consumer
      .run((batch: MessageBatch, ctx: BatchContext) => this.dispatch(batch, ctx))
      .then(() => callback(), (err: unknown) => callback(err));
  }

  /** The handler's BatchResult (how far offsets may be committed) goes back to the consumer. */
  private async dispatch(batch: MessageBatch, ctx: BatchContext): Promise<BatchResult | void> {
    const handler = this.getHandlerByPattern(batch.topic);
    if (!handler) throw new Error(`no handler for topic ${batch.topic}`);
    return lastValueFrom(this.transformToObservable<BatchResult | void>(await handler(batch, ctx)).pipe(defaultIfEmpty(undefined)));
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = null;
  }

  on(): never {
    throw new Error('KafkaBatchTransport does not emit status events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }
}
