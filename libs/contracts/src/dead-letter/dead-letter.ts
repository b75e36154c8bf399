/**
 * A rejected message, as it lands on `<topic>.dlq`: the original bytes untouched (base64, so
 * non-UTF-8 garbage survives), where it came from, and why. Headers repeat the reason so tools
 * that only read headers (kcat, Kafka UI) see it too. Delivery is at least once: a batch read
 * again after a rebalance or a restart (its offsets not yet committed) sends its letters again, so
 * `source` (topic, partition, offset) is the letter's identity for whoever counts them.
 */
export interface DeadLetterV1 {
  readonly v: 1;
  readonly reason: string;
  readonly source: { topic: string; partition: number; offset: string };
  readonly consumer: string;
  readonly rejectedAt: string;
  readonly key: string | null;
  readonly valueBase64: string | null;
}

export const DEAD_LETTER_HEADERS = {
  reason: 'eplb-dlq-reason',
  sourceTopic: 'eplb-dlq-source-topic',
  sourcePartition: 'eplb-dlq-source-partition',
  sourceOffset: 'eplb-dlq-source-offset',
} as const;
