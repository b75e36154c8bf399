import { describe, expect, it } from 'vitest';
import type { HeatEventV1 } from '@eplb/contracts';
import type { MessageProducer, OutgoingMessage } from '../message-bus';
import { HeatPublisher, HeatPublishError, InvalidHeatEventError } from './heat-publisher';

/** An in-memory producer whose sends complete when the test says so. */
class FakeProducer implements MessageProducer {
  readonly sends: { topic: string; messages: OutgoingMessage[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  autoAck = false;
  closed = false;
  get outstanding() {
    return this.sends.filter((s) => !(s as { done?: boolean }).done).length;
  }
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        topic,
        messages: [...messages],
        resolve: () => ((entry as { done?: boolean }).done = true, resolve()),
        reject: (e: Error) => ((entry as { done?: boolean }).done = true, reject(e)),
      };
      this.sends.push(entry);
      if (this.autoAck) queueMicrotask(entry.resolve);
    });
  }
  async close() {
    this.closed = true;
  }
  ackAll() {
    for (const s of this.sends) if (!(s as { done?: boolean }).done) s.resolve();
  }
}

const event = (step: number, deployment = 'dsv3-a', rank = 0): HeatEventV1 => ({
  v: 1,
  deployment,
  rank,
  step,
  steps: 1,
  phase: 'decode',
  mapVersion: 1,
  layerVersions: null,
  ts: '2026-11-23T06:00:00.000Z',
  load: [[1, 2, 3], [4, 5, 6]],
});

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HeatPublisher', () => {
  it('batches by size, keys by deployment, serializes the event as is', async () => {
    const p = new FakeProducer();
    p.autoAck = true;
    const pub = new HeatPublisher(p, { maxBatchSize: 3, lingerMs: 10_000 });
    for (let i = 0; i < 7; i++) await pub.publish(event(i, i % 2 ? 'b' : 'a'));
    await tick();
    expect(p.sends.map((s) => s.messages.length)).toEqual([3, 3]);
    expect(p.sends[0].topic).toBe('eplb.heat.v1');
    expect(p.sends[0].messages.map((m) => m.key)).toEqual(['a', 'b', 'a']);
    expect(JSON.parse(p.sends[0].messages[1].value as string)).toEqual(event(1, 'b'));
    await pub.flush();
    expect(p.sends.map((s) => s.messages.length)).toEqual([3, 3, 1]);
    expect(pub.stats).toMatchObject({ accepted: 7, sent: 7, failed: 0, batches: 3, buffered: 0, inFlight: 0 });
  });

  it('sends a partial batch after lingerMs', async () => {
    const p = new FakeProducer();
    p.autoAck = true;
    const pub = new HeatPublisher(p, { maxBatchSize: 100, lingerMs: 20 });
    await pub.publish(event(0));
    await pub.publish(event(1));
    await tick();
    expect(p.sends).toHaveLength(0);
    await sleep(40);
    expect(p.sends.map((s) => s.messages.length)).toEqual([2]);
  });

  it('validates unless told not to, and counts refusals', async () => {
    const p = new FakeProducer();
    p.autoAck = true;
    const pub = new HeatPublisher(p);
    await expect(pub.publish({ ...event(0), load: [[1, -1]] })).rejects.toThrow(InvalidHeatEventError);
    await expect(pub.publish({ ...event(0), deployment: 'Bad Id' })).rejects.toThrow(/deployment/);
    expect(pub.stats).toMatchObject({ accepted: 0, invalid: 2 });
    const raw = new HeatPublisher(p, { validate: false });
    await raw.publish({ ...event(0), load: [[1, -1]] });
    await raw.flush();
    expect(p.sends).toHaveLength(1);
  });

  it('applies back-pressure: at most maxInFlight sends, publish waits when the buffer is full', async () => {
    const p = new FakeProducer();
    const pub = new HeatPublisher(p, { maxBatchSize: 2, maxInFlight: 2, maxBuffered: 4, lingerMs: 10_000 });
    let accepted = 0;
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => pub.publish(event(i)).then(() => accepted++)));
    await tick();
    // Two full batches in flight, then two more events make a full batch waiting: no more room.
    expect(p.outstanding).toBe(2);
    expect(pub.stats.inFlight).toBe(2);
    expect(accepted).toBe(6);
    expect(pub.stats.buffered).toBe(2);
    p.ackAll();
    await tick();
    expect(p.outstanding).toBeLessThanOrEqual(2);
    expect(accepted).toBeGreaterThan(6);
    while (accepted < 20) {
      p.ackAll();
      await tick();
    }
    await all;
    const flushed = pub.flush();
    for (let i = 0; i < 5; i++) {
      p.ackAll();
      await tick();
    }
    await flushed;
    expect(p.sends.every((s) => s.messages.length <= 2)).toBe(true);
    expect(p.sends.flatMap((s) => s.messages.map((m) => JSON.parse(m.value as string).step))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('never holds more than maxBuffered events', async () => {
    const p = new FakeProducer();
    const pub = new HeatPublisher(p, { maxBatchSize: 100, maxInFlight: 1, maxBuffered: 5, lingerMs: 1 });
    let max = 0;
    const all = Promise.all(Array.from({ length: 30 }, (_, i) => pub.publish(event(i)).then(() => (max = Math.max(max, pub.stats.buffered)))));
    for (let i = 0; i < 50 && pub.stats.sent < 30; i++) {
      await sleep(3);
      p.ackAll();
    }
    await all;
    await pub.flush();
    expect(max).toBeLessThanOrEqual(5);
    expect(pub.stats.sent).toBe(30);
  });

  it('surfaces a failed send once, with the undelivered events, and counts it', async () => {
    const p = new FakeProducer();
    const pub = new HeatPublisher(p, { maxBatchSize: 2, lingerMs: 10_000 });
    await pub.publish(event(0));
    await pub.publish(event(1));
    await tick();
    p.sends[0].reject(new Error('broker gone'));
    await tick();
    expect(pub.stats).toMatchObject({ failed: 2, sent: 0 });
    const err = await pub.publish(event(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HeatPublishError);
    expect((err as HeatPublishError).events.map((e) => e.step)).toEqual([0, 1]);
    expect((err as Error).message).toMatch(/2 heat event\(s\) not delivered: broker gone/);
    // Reported once; the publisher goes on.
    await pub.publish(event(3));
    p.autoAck = true;
    await pub.flush();
    expect(pub.stats).toMatchObject({ accepted: 3, sent: 1, failed: 2 });
  });

  it('reports failures through flush and close when nothing else is published', async () => {
    const p = new FakeProducer();
    const pub = new HeatPublisher(p, { maxBatchSize: 1 });
    await pub.publish(event(0));
    await pub.publish(event(1));
    await tick();
    p.sends[0].reject(new Error('a'));
    p.sends[1].reject(new Error('b'));
    await expect(pub.flush()).rejects.toMatchObject({ events: [event(0), event(1)] });
    await pub.flush();

    await pub.publish(event(2));
    const closing = pub.close();
    await tick();
    p.sends[2].reject(new Error('c'));
    await expect(closing).rejects.toThrow(/c$/);
    expect(p.closed).toBe(true);
    await expect(pub.publish(event(3))).rejects.toThrow(/closed/);
  });
});
