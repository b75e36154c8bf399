import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, DeadLetterV1, TOPICS } from '@eplb/contracts';
import { Prng } from '@eplb/domain';
import { KafkajsBus, MessageConsumer, MessageProducer, OutgoingMessage } from '@eplb/messaging';
import { createDataSource } from '@eplb/persistence';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';
import { http, OPERATOR } from '../support/http';

/**
 * Thousands of malformed heat events, interleaved with valid ones: every malformed one lands on
 * the dead-letter topic, byte for byte, with a reason; every valid one is counted, once.
 */
describe('heat fuzz: malformed events never stop the collector nor get lost', () => {
  const config = testConfig();
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-heat-fuzz' });
  const deployment = `fuzz-${randomUUID().slice(0, 8)}`;
  const R = 4, L = 2, S = 2, K = 4;
  const MALFORMED = 3000;
  const STEPS = 100;
  let api: RunningApp;
  let collector: RunningApp;
  let producer: MessageProducer;
  let dlq: MessageConsumer;
  let ds: DataSource;
  // by payload, one entry per source offset: letters are sent at least once (a batch read again
  // after a consumer-group rejoin on a loaded machine sends its letters again)
  const letters = new Map<string, Map<string, { reason: string; header: string }>>();

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    producer = await bus.producer();
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-fuzz');
    await ds.initialize();
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: deployment, shape: { layers: L, experts: 3, ranks: R, slotsPerRank: S, nodes: 1 }, windows: { episodeSteps: K, intervalSteps: 16, latenessSteps: 8 } },
    });
    expect(created.status).toBe(201);
    let joined = false;
    dlq = bus.consumer({ groupId: `test-fuzz-dlq-${randomUUID()}`, topics: [TOPICS.heatDeadLetter], fromBeginning: false, onAssignment: () => (joined = true) });
    await dlq.run(async (batch) => {
      for (const m of batch.messages) {
        const letter = JSON.parse(m.value!.toString()) as DeadLetterV1;
        if (letter.key !== deployment) continue;
        const bySource = letters.get(letter.valueBase64 ?? '') ?? new Map<string, { reason: string; header: string }>();
        bySource.set(`${letter.source.topic}/${letter.source.partition}/${letter.source.offset}`, { reason: letter.reason, header: m.headers[DEAD_LETTER_HEADERS.reason] ?? '' });
        letters.set(letter.valueBase64 ?? '', bySource);
      }
    });
    await eventually(async () => joined);
  });

  afterAll(async () => {
    await dlq?.close();
    await producer?.close();
    await bus.close();
    await ds?.destroy();
    await Promise.all([api?.close(), collector?.close()]);
  });

  it('dead-letters each malformed event with a reason and counts every valid one', async () => {
    const rng = new Prng(20261123);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
    const valid = (rank: number, step: number): Record<string, unknown> => ({
      ...heatEvent(deployment, rank, step, Array.from({ length: L }, () => Array.from({ length: S }, () => Math.floor(rng.next() * 100)))),
    });
    // Each corruption is invalid whatever the rest of the event holds.
    const corruptions: ((e: Record<string, unknown>) => string)[] = [
      () => `!${randomUUID()}`,
      (e) => JSON.stringify(e).slice(0, 10 + Math.floor(rng.next() * 40)),
      (e) => JSON.stringify({ ...e, load: [[-1 - Math.floor(rng.next() * 9), 0], [0, 0]] }),
      (e) => JSON.stringify({ ...e, load: [[0.5, 0], [0, 0]] }),
      (e) => JSON.stringify({ ...e, load: [[1, 2, 3], [0, 0]] }),
      (e) => JSON.stringify({ ...e, load: [[1, 2]] }),
      (e) => JSON.stringify({ ...e, load: [['7', 0], [0, 0]] }),
      (e) => JSON.stringify({ ...e, rank: R + Math.floor(rng.next() * 100) }),
      (e) => JSON.stringify({ ...e, mapVersion: 2 + Math.floor(rng.next() * 50) }),
      (e) => JSON.stringify({ ...e, layerVersions: [1] }),
      (e) => JSON.stringify({ ...e, ts: new Date(Date.now() + 86_400_000).toISOString() }),
      (e) => JSON.stringify({ ...e, ts: 'not a time' }),
      // older than the retention window: its day partition is dropped or about to be
      (e) => JSON.stringify({ ...e, ts: pick(['0001-01-01T00:00:00.000Z', new Date(Date.now() - (config.HEAT_RETENTION_DAYS + 1) * 86_400_000).toISOString()]) }),
      (e) => JSON.stringify({ ...e, phase: pick(['warmup', '', 'DECODE', 3]) }),
      (e) => JSON.stringify({ ...e, v: pick([0, 2, '1', null]) }),
      (e) => JSON.stringify({ ...e, steps: 0 }),
      (e) => JSON.stringify({ ...e, step: 1, steps: K }),
      (e) => JSON.stringify({ ...e, extra: true }),
      (e) => {
        const copy = { ...e };
        delete copy[pick(Object.keys(copy))];
        return JSON.stringify(copy);
      },
      (e) => JSON.stringify({ ...e, deployment: `other-${deployment}` }),
      () => JSON.stringify(pick([[], 42, 'heat', null, true])),
    ];
    const malformed: string[] = [];
    const messages: OutgoingMessage[] = [];
    let sentValid = 0;
    for (let step = 0; step < STEPS; step++) {
      for (let rank = 0; rank < R; rank++) {
        messages.push({ key: deployment, value: JSON.stringify(valid(rank, step)) });
        sentValid++;
      }
      for (let i = 0; i < MALFORMED / STEPS; i++) {
        const bad = pick(corruptions)(valid(Math.floor(rng.next() * R), 1000 + step));
        malformed.push(bad);
        messages.push({ key: deployment, value: bad });
      }
    }
    await producer.send(TOPICS.heat, messages);

    const episodes = async () =>
      (await ds.query(`SELECT count(*)::int AS n, coalesce(sum(events), 0)::int AS events FROM heat_episodes WHERE deployment_id = $1`, [deployment]))[0] as { n: number; events: number };
    await eventually(async () => (await episodes()).events === sentValid, 60_000);
    await eventually(async () => [...letters.values()].reduce((a, l) => a + l.size, 0) >= MALFORMED, 60_000);

    expect(await episodes()).toEqual({ n: STEPS / K, events: sentValid });
    // Each malformed message sent has its letter (one source offset each): as many for each
    // distinct payload as times it was sent, and no letter for a message that was not refused.
    const sent = new Map<string, number>();
    for (const bad of malformed) sent.set(bad, (sent.get(bad) ?? 0) + 1);
    expect([...letters.values()].reduce((a, l) => a + l.size, 0)).toBe(MALFORMED);
    for (const [bad, times] of sent) {
      const found = [...(letters.get(Buffer.from(bad).toString('base64'))?.values() ?? [])];
      expect(found, `dead letters for ${bad.slice(0, 80)}`).toHaveLength(times);
      expect(found[0].reason.length).toBeGreaterThan(3);
      expect(found[0].header).toBe(found[0].reason);
    }
    // The collector still serves and is ready after all of it.
    expect((await fetch(`${collector.url}/readyz`)).status).toBe(200);
  });
});
