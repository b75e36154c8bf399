import { encodeHeatEventV2, firstIssue, HeatEventV1, heatEventV1Schema, TOPICS } from '@eplb/contracts';
import type { MessageProducer, OutgoingMessage } from '../message-bus';

export interface HeatPublisherOptions {
  /** Default `eplb.heat.v1`. */
  readonly topic?: string;
  /** Events per producer send (one Kafka produce request). Default 256. */
  readonly maxBatchSize?: number;
  /** How long a partly filled batch waits for more events before it is sent. Default 5 ms. */
  readonly lingerMs?: number;
  /** publish() waits while this many events are buffered (not yet handed to the producer). Default 4096. */
  readonly maxBuffered?: number;
  /** Sends outstanding at once. Default 2. */
  readonly maxInFlight?: number;
  /** Check each event against heatEventV1Schema before accepting it. Default true. */
  readonly validate?: boolean;
  /**
   * How events travel: `v1` JSON (default) or `v2` binary rows (docs/design.md, "Heat event,
   * version 2"), which the collector reads without parsing text. Validation is the same.
   */
  readonly encoding?: 'v1' | 'v2';
  /** close() also closes the producer. Default true. */
  readonly closeProducer?: boolean;
}

export interface HeatPublisherStats {
  /** Events accepted by publish(). */
  readonly accepted: number;
  /** Events the broker acknowledged. */
  readonly sent: number;
  /** Events in sends that failed (each reported once through HeatPublishError). */
  readonly failed: number;
  /** Events publish() refused as invalid. */
  readonly invalid: number;
  readonly batches: number;
  readonly buffered: number;
  readonly inFlight: number;
}

/** An event that does not satisfy the contract; it was not accepted. */
export class InvalidHeatEventError extends Error {
  constructor(readonly reason: string) {
    super(`invalid heat event: ${reason}`);
    this.name = 'InvalidHeatEventError';
  }
}

/**
 * A send failed after the producer's own retries. `events` are the events that were not
 * delivered (in the order accepted), so the caller can publish them again or give up knowingly.
 */
export class HeatPublishError extends Error {
  constructor(
    readonly events: readonly HeatEventV1[],
    override readonly cause: unknown,
  ) {
    super(`${events.length} heat event(s) not delivered: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'HeatPublishError';
  }
}

interface Entry {
  readonly event: HeatEventV1;
  readonly message: OutgoingMessage;
}

/**
 * Publishes `eplb.heat.v1` events (docs/design.md, "Heat event, version 1") for agents and the
 * simulator: validated, keyed by deployment, batched, with back-pressure.
 *
 * - `publish()` resolves once the event is accepted into the buffer. It waits while the buffer
 *   holds `maxBuffered` events, or while `maxInFlight` sends are outstanding and a full batch is
 *   already waiting: a producer that outruns the broker is slowed down, not given unbounded memory.
 * - A batch is sent when it is full (`maxBatchSize`) or `lingerMs` after its first event.
 * - A failed send (after the producer's retries) is counted and reported once, as a
 *   HeatPublishError naming the undelivered events: by the next `publish()` (which then does not
 *   accept its event), or else by `flush()` / `close()`. Nothing is dropped silently.
 * - `flush()` sends everything buffered and resolves when all sends are acknowledged.
 * - Compression is the producer's (KafkajsBus sends GZIP); batches compress well because the
 *   events of one deployment repeat their structure.
 *
 * Ordering: events of one deployment go to one partition (key), and batches leave in acceptance
 * order; with `maxInFlight > 1` a retried batch can land after a later one (the consumer keys on
 * (deployment, rank, step), so order is not needed for correctness).
 */
export class HeatPublisher {
  private readonly topic: string;
  private readonly maxBatchSize: number;
  private readonly lingerMs: number;
  private readonly maxBuffered: number;
  private readonly maxInFlight: number;
  private readonly validate: boolean;
  private readonly encoding: 'v1' | 'v2';
  private readonly closeProducer: boolean;

  private buffer: Entry[] = [];
  private inFlight = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private lingerDue = false;
  private flushing = 0;
  private closed = false;
  private readonly errors: HeatPublishError[] = [];
  private waiters: (() => void)[] = [];
  private counts = { accepted: 0, sent: 0, failed: 0, invalid: 0, batches: 0 };

  constructor(
    private readonly producer: MessageProducer,
    options: HeatPublisherOptions = {},
  ) {
    this.topic = options.topic ?? TOPICS.heat;
    this.maxBatchSize = positive('maxBatchSize', options.maxBatchSize ?? 256);
    this.lingerMs = Math.max(0, options.lingerMs ?? 5);
    this.maxBuffered = positive('maxBuffered', options.maxBuffered ?? 4096);
    this.maxInFlight = positive('maxInFlight', options.maxInFlight ?? 2);
    this.validate = options.validate ?? true;
    this.encoding = options.encoding ?? 'v1';
    this.closeProducer = options.closeProducer ?? true;
  }

  get stats(): HeatPublisherStats {
    return { ...this.counts, buffered: this.buffer.length, inFlight: this.inFlight };
  }

  async publish(event: HeatEventV1): Promise<void> {
    this.throwIfFailed();
    if (this.closed) throw new Error('heat publisher is closed');
    if (this.validate) {
      const parsed = heatEventV1Schema.safeParse(event);
      if (!parsed.success) {
        this.counts.invalid++;
        throw new InvalidHeatEventError(firstIssue(parsed.error));
      }
    }
    const message: OutgoingMessage = { key: event.deployment, value: this.encoding === 'v2' ? encodeHeatEventV2(event) : JSON.stringify(event) };
    while (!this.hasRoom()) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.throwIfFailed();
      if (this.closed) throw new Error('heat publisher is closed');
    }
    this.buffer.push({ event, message });
    this.counts.accepted++;
    this.pump();
  }

  /** Sends everything buffered; resolves when every send so far is acknowledged, rejects if any failed. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.pump();
      while (this.buffer.length > 0 || this.inFlight > 0) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        this.pump();
      }
    } finally {
      this.flushing--;
    }
    this.throwIfFailed(true);
  }

  /** Flushes, refuses further events, and closes the producer (unless told not to). */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.clearLinger();
      this.wake();
      if (this.closeProducer) await this.producer.close();
    }
  }

  private hasRoom(): boolean {
    if (this.buffer.length >= this.maxBuffered) return false;
    return !(this.inFlight >= this.maxInFlight && this.buffer.length >= this.maxBatchSize);
  }

  private pump(): void {
    while (this.buffer.length > 0 && this.inFlight < this.maxInFlight) {
      if (this.buffer.length < this.maxBatchSize && !this.lingerDue && this.flushing === 0) {
        this.armLinger();
        return;
      }
      const batch = this.buffer.length <= this.maxBatchSize ? this.buffer : this.buffer.slice(0, this.maxBatchSize);
      this.buffer = batch === this.buffer ? [] : this.buffer.slice(this.maxBatchSize);
      this.send(batch);
    }
    if (this.buffer.length === 0) {
      this.lingerDue = false;
      this.clearLinger();
    }
  }

  private send(batch: Entry[]): void {
    this.inFlight++;
    this.counts.batches++;
    this.producer
      .send(
        this.topic,
        batch.map((e) => e.message),
      )
      .then(
        () => {
          this.counts.sent += batch.length;
        },
        (err: unknown) => {
          this.counts.failed += batch.length;
          this.errors.push(new HeatPublishError(batch.map((e) => e.event), err));
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
        this.wake();
      });
  }

  private armLinger(): void {
    if (this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.lingerDue = true;
      this.pump();
    }, this.lingerMs);
  }

  private clearLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** Reports failed sends: one at a time to publish(), all together to flush(). */
  private throwIfFailed(all = false): void {
    if (this.errors.length === 0) return;
    if (!all || this.errors.length === 1) throw this.errors.shift()!;
    const errs = this.errors.splice(0);
    throw new HeatPublishError(
      errs.flatMap((e) => e.events),
      errs[0].cause,
    );
  }
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`HeatPublisher: ${name} must be a positive integer, got ${v}`);
  return v;
}
