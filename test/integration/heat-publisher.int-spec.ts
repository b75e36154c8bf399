import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeatEventV1, parseHeatEvent, TOPICS, topicSpecs } from '@eplb/contracts';
import { HeatPublisher, KafkajsBus, MessageConsumer } from '@eplb/messaging';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';

// Local, so this test loads no app module (../support/apps imports the API).
async function eventually<T>(probe: () => Promise<T | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/**
 * The TypeScript HeatPublisher on the real broker: events of a DeepSeek-V3 rank shape
 * (58 layers × 5 slots) published in batches through KafkajsBus all arrive on `eplb.heat.v1`,
 * once each, keyed by deployment, valid for parseHeatEvent. Prints the publisher's throughput.
 */
describe('HeatPublisher → Kafka', () => {
  const config = testConfig();
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-heat-publisher' });
  const deployment = `pub-${randomUUID().slice(0, 8)}`;
  const L = 58;
  const S = 5;
  const RANKS = 64;
  const STEPS = 160; // 64 × 160 = 10,240 events
  const SENTINEL_STEP = 1_000_000_000;
  const received = new Map<string, { key: string | null; event: HeatEventV1 }>();
  const problems: string[] = [];
  let consumer: MessageConsumer;

  const event = (rank: number, step: number): HeatEventV1 =>
    heatEvent(deployment, rank, step, Array.from({ length: L }, (_, l) => Array.from({ length: S }, (_, s) => (rank * 7 + step * 3 + l * S + s) % 101)));

  beforeAll(async () => {
    await bus.ensureTopics(topicSpecs(config.KAFKA_HEAT_PARTITIONS));
    // A fresh group starts at the end of the topic; sentinels tell when it is reading.
    consumer = bus.consumer({ groupId: `test-heat-publisher-${randomUUID()}`, topics: [TOPICS.heat], fromBeginning: false });
    void consumer.run(async (batch) => {
      for (const m of batch.messages) {
        const key = m.key?.toString() ?? null;
        const raw = m.value?.toString() ?? '';
        if (key !== deployment && !raw.includes(`"deployment":"${deployment}"`)) continue;
        const verdict = parseHeatEvent(m.value);
        // Recorded, not thrown: a throwing handler would make the bus retry the batch forever.
        if (!verdict.ok) {
          problems.push(`unparseable: ${verdict.reason}`);
          continue;
        }
        const id = `${verdict.event.rank}/${verdict.event.step}`;
        if (received.has(id)) problems.push(`duplicate ${id}`);
        received.set(id, { key, event: verdict.event });
      }
    });
    const sentinels = new HeatPublisher(await bus.producer(), { lingerMs: 0 });
    try {
      let i = 0;
      await eventually(async () => {
        await sentinels.publish(event(0, SENTINEL_STEP + i++));
        await sentinels.flush();
        await new Promise((r) => setTimeout(r, 300));
        return [...received.values()].some((r) => r.event.step >= SENTINEL_STEP);
      }, 60_000);
    } finally {
      await sentinels.close();
    }
  });

  afterAll(async () => {
    await consumer?.close();
    await bus.close();
  });

  it('delivers every event once, keyed by deployment, with its content', async () => {
    const publisher = new HeatPublisher(await bus.producer(), { maxBatchSize: 256, lingerMs: 5, maxInFlight: 2, maxBuffered: 4096 });
    const total = RANKS * STEPS;
    const t0 = performance.now();
    for (let step = 0; step < STEPS; step++) {
      for (let rank = 0; rank < RANKS; rank++) await publisher.publish(event(rank, step));
    }
    await publisher.flush();
    const seconds = (performance.now() - t0) / 1000;
    expect(publisher.stats).toMatchObject({ accepted: total, sent: total, failed: 0, invalid: 0, buffered: 0, inFlight: 0 });
    await publisher.close();
    process.stdout.write(
      `[heat-publisher] ${total} events (58×5 loads, validated) acknowledged in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)} events/s\n`,
    );

    const ours = () => [...received.values()].filter((r) => r.event.step < SENTINEL_STEP);
    await eventually(async () => ours().length >= total, 60_000);
    const got = ours();
    expect(got).toHaveLength(total);
    expect(got.every((r) => r.key === deployment)).toBe(true);
    expect(problems).toEqual([]);
    for (const [rank, step] of [[0, 0], [63, 159], [17, 42]]) {
      expect(received.get(`${rank}/${step}`)?.event.load).toEqual(event(rank, step).load);
    }
  });
});
