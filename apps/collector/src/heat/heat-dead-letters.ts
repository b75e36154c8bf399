import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DEAD_LETTER_HEADERS, DeadLetterV1, TOPICS } from '@eplb/contracts';
import type { BatchContext, IncomingMessage, MessageBus, MessageProducer, OutgoingMessage } from '@eplb/messaging';
import { MESSAGE_BUS } from '@eplb/messaging';
import { counter, LOGGER } from '@eplb/platform';
import { COLLECTOR_GROUP } from './collector-group';

const deadLetters = counter('eplb_collector_dead_letters_total', 'Messages sent to the dead-letter topic, by first field at fault', ['field'] as const);
const sendFailures = counter('eplb_collector_dead_letter_send_failures_total', 'Attempts to send dead letters that failed (retried)');

/** A heat message the collector refuses, with why. */
export interface Rejected {
  readonly message: IncomingMessage;
  readonly reason: string;
}

/** Waits between attempts: doubling from 200 ms, at most 10 s. */
export const deadLetterRetryMs = (attempt: number): number => Math.min(10_000, 200 * 2 ** Math.min(attempt, 6));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sends refused heat to `eplb.heat.v1.dlq`, with the reason in the letter and its headers. The
 * batch that refused them has stored its heat already, so a send that fails is retried here (the
 * broker restarting, say) for as long as the consumer still owns the batch, instead of handing
 * the batch back: a batch handed back after its heat was stored would be replayed against the new
 * state. Until a send succeeds again, `failing` says why (readiness).
 */
@Injectable()
export class HeatDeadLetters {
  private producer: Promise<MessageProducer> | null = null;
  /** Why the last send failed, while no send succeeded since; null when sends go through. */
  failing: string | null = null;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async send(rejected: readonly Rejected[], ctx: BatchContext): Promise<void> {
    if (rejected.length === 0) return;
    const letters = this.letters(rejected);
    for (let attempt = 0; ; attempt++) {
      try {
        this.producer ??= this.bus.producer();
        const producer = await this.producer.catch((err: unknown) => {
          this.producer = null;
          throw err;
        });
        await producer.send(TOPICS.heatDeadLetter, letters);
        break;
      } catch (err) {
        this.failing = `dead letters not sent: ${(err as Error).message}`;
        sendFailures.inc();
        // The partition went to another member (or we stop): it replays the batch, refusals included.
        if (!ctx.isRunning()) throw err;
        const wait = deadLetterRetryMs(attempt);
        this.logger.warn({ count: rejected.length, attempt, err: (err as Error).message }, `dead letters not sent, retrying in ${wait} ms`);
        await sleep(wait);
        // a heartbeat that fails means the group is rebalancing: isRunning() says so next round
        await ctx.heartbeat().catch(() => undefined);
      }
    }
    this.failing = null;
    for (const { reason } of rejected) deadLetters.inc({ field: reason.split(':')[0].split('.')[0] });
    this.logger.warn({ count: rejected.length, first: rejected[0].reason }, 'heat events dead-lettered');
  }

  private letters(rejected: readonly Rejected[]): OutgoingMessage[] {
    const rejectedAt = new Date().toISOString();
    return rejected.map(({ message: m, reason }) => {
      const letter: DeadLetterV1 = {
        v: 1,
        reason,
        source: { topic: m.topic, partition: m.partition, offset: m.offset },
        consumer: COLLECTOR_GROUP,
        rejectedAt,
        key: m.key?.toString() ?? null,
        valueBase64: m.value?.toString('base64') ?? null,
      };
      return {
        key: m.key?.toString() ?? null,
        value: JSON.stringify(letter),
        headers: {
          [DEAD_LETTER_HEADERS.reason]: reason,
          [DEAD_LETTER_HEADERS.sourceTopic]: m.topic,
          [DEAD_LETTER_HEADERS.sourcePartition]: String(m.partition),
          [DEAD_LETTER_HEADERS.sourceOffset]: m.offset,
        },
      };
    });
  }
}
