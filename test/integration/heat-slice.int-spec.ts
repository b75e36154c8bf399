import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, DeadLetterV1, TOPICS } from '@eplb/contracts';
import { KafkajsBus, MessageProducer } from '@eplb/messaging';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { heatEvent } from '../support/heat';

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

  const event = (rank: number, step: number, load: unknown = [[1, 2, 3], [4, 5, 6]], extra: Record<string, unknown> = {}) =>
    heatEvent(deployment, rank, step, load, extra);
  const send = (value: unknown, key: string | null = deployment) =>
    producer.send(TOPICS.heat, [{ key, value: typeof value === 'string' ? value : JSON.stringify(value) }]);

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    producer = await bus.producer();
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id: deployment,
        shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 },
        windows: { episodeSteps: 2, intervalSteps: 4, latenessSteps: 2 },
      },
    });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await producer?.close();
    await bus.close();
    await Promise.all([api?.close(), collector?.close()]);
  });

  const episodes = async () =>
    (await http(`GET`, `${api.url}/v1/deployments/${deployment}/heat/episodes?loads=true`, { token: OPERATOR })).body.items as {
      episode: number;
      events: number;
      closedBy: string;
      missingRanks: number[];
      logical: number[][];
    }[];

  it('stores a complete episode, counting a (rank, step) delivered twice once, and serves it back', async () => {
    // round-robin map of 4 experts on 6 slots: slots hold experts [0, 1, 2, 3, 0, 1]
    await send(event(0, 0));
    await send(event(1, 0, [[0, 0, 7], [9, 0, 1]]));
    await send(event(0, 0, [[100, 100, 100], [100, 100, 100]])); // same (deployment, rank, step): ignored
    await send(event(0, 1));
    await send(event(1, 1, [[0, 0, 7], [9, 0, 1]]));
    const [first] = await eventually(async () => {
      const r = await episodes();
      return r.length >= 1 ? r : null;
    });
    expect(first).toMatchObject({ episode: 0, events: 4, closedBy: 'complete', missingRanks: [] });
    // layer 0: rank 0 slots (experts 0,1,2) got 1,2,3 per step; rank 1 slots (experts 3,0,1) got 0,0,7
    expect(first.logical[0]).toEqual([2 * (1 + 0), 2 * (2 + 7), 2 * 3, 2 * 0]);
    expect(first.logical[1]).toEqual([2 * (4 + 0), 2 * (5 + 1), 2 * 6, 2 * 9]);
  });

  it('dead-letters invalid events with their reason and keeps consuming', async () => {
    const invalid: [string, unknown][] = [
      ['not JSON', '{"v":1,'],
      ['load.1: has 2 slots, expected 3', event(0, 2, [[1, 2, 3], [4, 5]])],
      ['load.0.1: must be a non-negative count', event(0, 2, [[1, -2, 3], [4, 5, 6]])],
      ['load.0.2: must be an integer count', event(0, 2, [[1, 2, 3.5], [4, 5, 6]])],
      ['rank: 7 is not a rank', event(7, 2)],
      ['mapVersion: 9 is unknown', event(0, 2, undefined, { mapVersion: 9 })],
      ['ts:', event(0, 2, undefined, { ts: new Date(Date.now() + 3_600_000).toISOString() })],
      ['phase:', event(0, 2, undefined, { phase: 'warmup' })],
      ['crosses the boundary of episode 1', event(0, 3, undefined, { steps: 2 })],
    ];
    // Read the dead-letter topic from its end, joined before anything is sent.
    const letters: DeadLetterV1[] = [];
    const headerReasons: string[] = [];
    let joined = false;
    const dlq = bus.consumer({
      groupId: `test-dlq-${randomUUID()}`,
      topics: [TOPICS.heatDeadLetter],
      fromBeginning: false,
      onAssignment: () => (joined = true),
    });
    await dlq.run(async (batch) => {
      for (const m of batch.messages) {
        const letter = JSON.parse(m.value!.toString()) as DeadLetterV1;
        if (letter.key === deployment || letter.key === `unknown-${deployment}`) {
          letters.push(letter);
          headerReasons.push(m.headers[DEAD_LETTER_HEADERS.reason] ?? '');
        }
      }
    });
    await eventually(async () => joined);

    for (const [, value] of invalid) await send(value);
    await send(event(0, 200, undefined, { deployment: `unknown-${deployment}` }), `unknown-${deployment}`);
    for (const rank of [0, 1]) for (const step of [2, 3]) await send(event(rank, step)); // valid, after the invalid ones

    await eventually(async () => (await episodes()).some((e) => e.episode === 1 && e.events === 4));

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
    // Nothing invalid was counted.
    expect((await episodes()).map((e) => [e.episode, e.events])).toEqual([
      [0, 4],
      [1, 4],
    ]);
  });

  it('counts outcomes in the collector metrics', async () => {
    const res = await fetch(`${collector.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/eplb_collector_heat_events_total\{outcome="counted"\} [1-9]/);
    expect(text).toMatch(/eplb_collector_windows_total\{kind="episode",closed_by="complete"\} [1-9]/);
    expect(text).toMatch(/eplb_collector_heat_events_total\{outcome="rejected"\} [1-9]/);
    expect(text).toMatch(/eplb_collector_heat_events_total\{outcome="duplicate"\} [1-9]/);
  });
});
