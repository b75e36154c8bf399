/**
 * Our own small interface over the Kafka client. kafkajs is in maintenance mode; everything else
 * in the code base talks to these types, so replacing the client touches one folder.
 */
export interface OutgoingMessage {
  readonly key?: string | null;
  readonly value: Buffer | string;
  readonly headers?: Record<string, string>;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string | undefined>;
  readonly timestamp: string;
}

export interface MessageBatch {
  readonly topic: string;
  readonly partition: number;
  /** The partition's end when the batch was fetched (offset of the next message to be written), when the client knows it. */
  readonly highWatermark?: string;
  readonly messages: readonly IncomingMessage[];
}

export interface BatchContext {
  /** Keep group membership alive inside long handlers. */
  heartbeat(): Promise<void>;
  isRunning(): boolean;
}

/**
 * What a handler says about durability once it is done with a batch. `durableBefore` is the
 * offset of the first message (on this partition, in this or an earlier batch) whose effect is
 * not yet stored; the consumer commits it as the next offset to read after a restart. Handlers
 * that keep state in memory (open windows) commit only up to their oldest open state.
 */
export type BatchResult =
  | { readonly durableBefore: string }
  /**
   * The handler dropped what it held of this partition in memory (another member of the group
   * took the partition over meanwhile): nothing is committed, and the partition is read again
   * from where a restart would resume, so that every report not yet durable comes back.
   */
  | { readonly replay: string };

/**
 * Handles a whole batch of one partition. Resolving without a result means every message's effect
 * is durable, and the batch's offsets are committed (at-least-once; handlers make that
 * exactly-once by being idempotent). Throwing means "infrastructure trouble": the batch is
 * retried, never skipped.
 */
export type BatchHandler = (batch: MessageBatch, ctx: BatchContext) => Promise<BatchResult | void>;

export interface MessageProducer {
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning?: boolean;
  /** Upper bound on bytes fetched per partition, to bound memory per batch. */
  readonly maxBytesPerPartition?: number;
  /** Called after each group (re)join with the partitions this member now owns, per topic. */
  readonly onAssignment?: (assigned: Record<string, number[]>) => void;
  /**
   * Called when the client has given up on the consumer (a crash it does not restart, such as an
   * authorization error): no batch will come any more, which the owner must not learn from a log.
   */
  readonly onStopped?: (reason: Error) => void;
}

export interface MessageConsumer {
  run(handler: BatchHandler): Promise<void>;
  close(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
}

export interface ProducerOptions {
  /** gzip (default) saves broker disk and network; none saves CPU where both ends share a host. */
  readonly compression?: 'gzip' | 'none';
}

export interface MessageBus {
  producer(options?: ProducerOptions): Promise<MessageProducer>;
  consumer(options: ConsumerOptions): MessageConsumer;
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** Resolves when a broker answers metadata within the timeout; rejects with the reason. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
