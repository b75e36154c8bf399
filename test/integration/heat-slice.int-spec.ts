import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, DeadLetterV1, TOPICS } from '@eplb/contracts';
import { KafkajsBus, MessageProducer } from '@eplb/messaging';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/**
 * The first vertical slice on the real stack: a heat event produced to Kafka is validated and
 * consumed by the collector, stored in Postgres, and returned by the API; invalid events land on
 * the dead-letter topic with their reason and do not stop the consumer.
 */
describe('heat slice: Kafka → collector → Postgres → API', () => {
  const config = testConfig();
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-heat-slice' });
  const deployment = `slice-${randomUUID().slice(0, 8)}`;
  let api: RunningApp;
  let collector: RunningApp;
  let producer: MessageProducer;

  const event = (rank: number, step: number, load: unknown = [[1, 2, 3], [4, 5, 6]], extra: Record<string, unknown> = {}) => ({
    v: 1,
    deployment,
    rank,
    step,
    steps: 1,
    phase: 'decode',
    mapVersion: 1,
    layerVersions: null,
    ts: new Date().toISOString(),
    load,
    ...extra,
  });
  const send = (value: unknown, key: string | null = deployment) =>
    producer.send(TOPICS.heat, [{ key, value: typeof value === 'string' ? value : JSON.stringify(value) }]);

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    producer = await bus.producer();
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: deployment, shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 } },
    });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await producer?.close();
    await bus.close();
    await Promise.all([api?.close(), collector?.close()]);
  });

  const reports = async () =>
    (await http(`GET`, `${api.url}/v1/deployments/${deployment}/heat/reports?limit=100`, { token: OPERATOR })).body.items as {
      rank: number;
      step: number;
      load: number[][];
    }[];

  it('stores a valid event once and serves it back, even when delivered twice', async () => {
    await send(event(0, 0));
    await send(event(1, 0, [[0, 0, 7], [9, 0, 1]]));
    await send(event(0, 0, [[100, 100, 100], [100, 100, 100]])); // same (deployment, rank, step): ignored
    const items = await eventually(async () => {
      const r = await reports();
      return r.length >= 2 ? r : null;
    });
    expect(items.map((i) => [i.rank, i.step, i.load])).toEqual([
      [0, 0, [[1, 2, 3], [4, 5, 6]]],
      [1, 0, [[0, 0, 7], [9, 0, 1]]],
    ]);
  });

  it('dead-letters invalid events with their reason and keeps consuming', async () => {
    const invalid: [string, unknown][] = [
      ['not JSON', '{"v":1,'],
      ['load.1: has 2 slots, expected 3', event(0, 16, [[1, 2, 3], [4, 5]])],
      ['load.0.1: must be a non-negative count', event(0, 32, [[1, -2, 3], [4, 5, 6]])],
      ['load.0.2: must be an integer count', event(0, 48, [[1, 2, 3.5], [4, 5, 6]])],
      ['rank: 7 is not a rank', event(7, 64)],
      ['mapVersion: 9 is unknown', event(0, 80, undefined, { mapVersion: 9 })],
      ['ts:', event(0, 96, undefined, { ts: new Date(Date.now() + 3_600_000).toISOString() })],
      ['phase:', event(0, 112, undefined, { phase: 'warmup' })],
    ];
    for (const [, value] of invalid) await send(value);
    await send(event(0, 200, undefined, { deployment: `unknown-${deployment}` }), `unknown-${deployment}`);
    await send(event(1, 128)); // valid, after the invalid ones

    await eventually(async () => (await reports()).some((r) => r.rank === 1 && r.step === 128));

    const letters: DeadLetterV1[] = [];
    const headerReasons: string[] = [];
    const dlq = bus.consumer({ groupId: `test-dlq-${randomUUID()}`, topics: [TOPICS.heatDeadLetter], fromBeginning: true });
    await dlq.run(async (batch) => {
      for (const m of batch.messages) {
        const letter = JSON.parse(m.value!.toString()) as DeadLetterV1;
        if (letter.key === deployment || letter.key === `unknown-${deployment}`) {
          letters.push(letter);
          headerReasons.push(m.headers[DEAD_LETTER_HEADERS.reason] ?? '');
        }
      }
    });
    try {
      await eventually(async () => letters.length >= invalid.length + 1, 30_000);
    } finally {
      await dlq.close();
    }
    for (const [reason] of invalid) {
      expect(letters.some((l) => l.reason.includes(reason)), `a dead letter saying "${reason}"`).toBe(true);
    }
    expect(letters.some((l) => l.reason === `deployment: unknown-${deployment} is not registered`)).toBe(true);
    expect(headerReasons).toEqual(letters.map((l) => l.reason));
    // The original bytes survive untouched.
    const notJson = letters.find((l) => l.reason.startsWith('not JSON'))!;
    expect(Buffer.from(notJson.valueBase64!, 'base64').toString()).toBe('{"v":1,');
    expect(notJson.source.topic).toBe(TOPICS.heat);
    // Nothing invalid was stored.
    expect((await reports()).map((r) => `${r.rank}/${r.step}`).sort()).toEqual(['0/0', '1/0', '1/128']);
  });

  it('counts outcomes in the collector metrics', async () => {
    const res = await fetch(`${collector.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/eplb_collector_heat_events_total\{outcome="stored"\} [1-9]/);
    expect(text).toMatch(/eplb_collector_heat_events_total\{outcome="rejected"\} [1-9]/);
    expect(text).toMatch(/eplb_collector_heat_events_total\{outcome="duplicate"\} [1-9]/);
  });
});
