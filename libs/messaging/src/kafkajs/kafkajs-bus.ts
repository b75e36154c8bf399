import { Admin, Consumer, Kafka, logLevel, Producer, CompressionTypes, LogEntry, SASLOptions } from 'kafkajs';
import type { KafkaSasl } from '@eplb/platform';
import './request-queue-fix';
import type {
  BatchHandler,
  BatchResult,
  ConsumerOptions,
  MessageBus,
  MessageConsumer,
  MessageProducer,
  OutgoingMessage,
  ProducerOptions,
  TopicSpec,
} from '../message-bus';

export interface KafkajsBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** The principal to authenticate as (a broker run with SASL refuses clients without one). */
  readonly sasl?: KafkaSasl;
  /** Where kafkajs' own log lines go (they are otherwise printed unstructured). */
  readonly log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra: object) => void;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

/** kafkajs types each mechanism as its own object; the config's one shape is narrowed here. */
function kafkajsSasl({ mechanism, username, password }: KafkaSasl): SASLOptions {
  switch (mechanism) {
    case 'scram-sha-512':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'plain':
      return { mechanism, username, password };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MAX_REQUEST_BYTES = 512 * 1024;

function* chunkBySize(messages: readonly OutgoingMessage[], maxBytes: number): Generator<OutgoingMessage[]> {
  let chunk: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length) + (m.key?.length ?? 0) + 64;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(m);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * How kafkajs retries a request and reconnects. Its default ceiling between two attempts is 30 s
 * (maxRetryTime), and a consumer that used up its retries restarts only after the last wait: after
 * a broker restart, clients kept waiting up to half a minute on a broker that was back (the
 * collector fell behind for the whole outage series in bench:chaos). Attempts at most 2 s apart;
 * more of them, so a request still gives up after about as long as before (~75 s: 0.2 + 0.4 +
 * 0.8 + 1.6 s, then 36 × 2 s, each ±20%).
 */
export const KAFKA_RETRY = { initialRetryTime: 200, maxRetryTime: 2_000, retries: 40 } as const;

export class KafkajsBus implements MessageBus {
  private readonly kafka: Kafka;
  /** A separate client for health probes: no retries, so a dead broker is reported at once. */
  private readonly probeKafka: Kafka;
  private probeAdmin: Admin | null = null;
  private readonly owned = new Set<{ close(): Promise<void> }>();

  constructor(private readonly options: KafkajsBusOptions) {
    const logCreator = () => (entry: LogEntry) => {
      const level = entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : entry.level === logLevel.INFO ? 'info' : 'debug';
      const { message, ...extra } = entry.log;
      options.log?.(level, `kafkajs ${entry.namespace}: ${message}`, extra);
    };
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      ...(options.sasl ? { sasl: kafkajsSasl(options.sasl) } : {}),
      logLevel: logLevel.WARN,
      logCreator,
      retry: KAFKA_RETRY,
    });
    this.probeKafka = new Kafka({
      clientId: `${options.clientId}-probe`,
      brokers: [...options.brokers],
      ...(options.sasl ? { sasl: kafkajsSasl(options.sasl) } : {}),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    });
  }

  async producer(options: ProducerOptions = {}): Promise<MessageProducer> {
    const compression = options.compression === 'none' ? CompressionTypes.None : CompressionTypes.GZIP;
    const producer: Producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    const handle: MessageProducer = {
      send: async (topic: string, messages: readonly OutgoingMessage[]) => {
        // One request per ~512 KiB of payload: a request's record batch must stay under the
        // broker's message.max.bytes (1 MiB by default) whatever the caller hands us.
        for (const chunk of chunkBySize(messages, MAX_REQUEST_BYTES)) {
          await producer.send({
            topic,
            acks: -1,
            compression,
            messages: chunk.map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers })),
          });
        }
      },
      close: async () => {
        this.owned.delete(handle);
        await producer.disconnect();
      },
    };
    this.owned.add(handle);
    return handle;
  }

  consumer(options: ConsumerOptions): MessageConsumer {
    const consumer: Consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      // A member that died without leaving (kill -9) holds its partitions this long: short, so a
      // restarted collector resumes within seconds (the broker's minimum is 6 s).
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
    });
    let running = false;
    const log = this.options.log;
    const handle: MessageConsumer = {
      run: async (handler: BatchHandler) => {
        // Where a restart would resume each partition: the first offset fetched after a (re)join
        // (the group's committed offset, or the reset policy's), then each offset committed.
        const resumeAt = new Map<string, string>();
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          resumeAt.clear();
          options.onAssignment?.(e.payload.memberAssignment);
        });
        if (options.onStopped) {
          const stopped = options.onStopped;
          // kafkajs restarts a consumer after retriable crashes by itself; after the others it only logs
          consumer.on(consumer.events.CRASH, (e) => {
            if (!e.payload.restart) stopped(e.payload.error);
          });
        }
        await consumer.connect();
        for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
        running = true;
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, heartbeat, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale }) => {
            if (batch.messages.length === 0) return;
            const at = `${batch.topic}\u0000${batch.partition}`;
            if (!resumeAt.has(at)) resumeAt.set(at, batch.messages[0].offset);
            const ctx = { heartbeat, isRunning: () => running && isRunning() && !isStale() };
            let result: BatchResult | void = undefined;
            // Infrastructure errors (database down) must not skip messages: retry the same batch
            // with back-off while we still own the partition.
            for (let attempt = 0; ; attempt++) {
              try {
                result = await handler(
                  {
                    topic: batch.topic,
                    partition: batch.partition,
                    highWatermark: batch.highWatermark,
                    messages: batch.messages.map((m) => ({
                      topic: batch.topic,
                      partition: batch.partition,
                      offset: m.offset,
                      key: m.key,
                      value: m.value,
                      headers: Object.fromEntries(
                        Object.entries(m.headers ?? {}).map(([k, v]) => [k, v === undefined ? undefined : String(v)]),
                      ),
                      timestamp: m.timestamp,
                    })),
                  },
                  ctx,
                );
                break;
              } catch (err) {
                if (!ctx.isRunning()) throw err;
                const wait = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6));
                log?.('error', `batch handler failed, retrying in ${wait} ms`, {
                  topic: batch.topic,
                  partition: batch.partition,
                  attempt,
                  error: (err as Error).message,
                });
                await sleep(wait);
                await heartbeat();
              }
            }
            // Resolving moves the fetch position on; the commit says where a restart resumes,
            // which for a stateful handler can be behind what was fetched.
            const last = batch.messages[batch.messages.length - 1].offset;
            if (result && 'replay' in result) {
              // Unknown here only when the group rejoined during the batch: the rejoin already
              // reads the partition from its committed offset.
              const from = resumeAt.get(at);
              log?.('warn', `replaying partition from offset ${from ?? 'committed'}: ${result.replay}`, { topic: batch.topic, partition: batch.partition });
              if (from !== undefined) consumer.seek({ topic: batch.topic, partition: batch.partition, offset: from });
              return;
            }
            resolveOffset(last);
            const next = result ? result.durableBefore : (BigInt(last) + 1n).toString();
            await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
            resumeAt.set(at, next);
          },
        });
      },
      close: async () => {
        running = false;
        this.owned.delete(handle);
        await consumer.disconnect();
      },
    };
    this.owned.add(handle);
    return handle;
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: 1 })),
        });
      }
    } finally {
      await admin.disconnect();
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    try {
      this.probeAdmin ??= this.probeKafka.admin();
      await withTimeout(
        (async () => {
          await this.probeAdmin!.connect();
          await this.probeAdmin!.describeCluster();
        })(),
        timeoutMs,
        `Kafka (${this.options.brokers.join(',')})`,
      );
    } catch (err) {
      // Drop the probe client so the next ping starts from a fresh connection.
      const stale = this.probeAdmin;
      this.probeAdmin = null;
      void stale?.disconnect().catch(() => undefined);
      throw new Error(`Kafka at ${this.options.brokers.join(',')} unreachable: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.owned].map((o) => o.close()));
    await this.probeAdmin?.disconnect().catch(() => undefined);
  }
}
