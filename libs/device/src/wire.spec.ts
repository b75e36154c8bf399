import { describe, expect, it } from 'vitest';
import { FrameReader, Throttle, encodeFrame } from './wire';
import { checksum, expertWeights } from './weights';

describe('wire frames', () => {
  it('reassembles frames split and merged at any byte', () => {
    const frames = [encodeFrame({ id: 1, op: 'fetch' }), encodeFrame({ id: 2, ok: true }, Buffer.from('abcdef')), encodeFrame({ id: 3 }, Buffer.alloc(1000, 7))];
    const all = Buffer.concat(frames);
    for (const cut of [1, 3, 7, 8, 9, 50, all.length]) {
      const r = new FrameReader();
      const got = [];
      for (let i = 0; i < all.length; i += cut) got.push(...r.push(all.subarray(i, i + cut)));
      expect(got.map((f) => [f.header.id, f.body.length])).toEqual([
        [1, 0],
        [2, 6],
        [3, 1000],
      ]);
      expect(got[1].body.toString()).toBe('abcdef');
    }
  });

  it('rejects malformed streams', () => {
    const bad = Buffer.alloc(8);
    bad.writeUInt32BE(10 ** 9, 0);
    expect(() => new FrameReader().push(bad)).toThrow(/malformed frame/);
    const notJson = Buffer.concat([Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]), Buffer.from('{x')]);
    expect(() => new FrameReader().push(notJson)).toThrow(/not JSON/);
    const arr = Buffer.concat([Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]), Buffer.from('[]')]);
    expect(() => new FrameReader().push(arr)).toThrow(/not an object/);
  });

  it('throttles to the byte rate', async () => {
    const t = new Throttle(100_000);
    const t0 = Date.now();
    await Promise.all([t.take(5_000), t.take(5_000)]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    // reserve books the bytes without waiting and says how long the sender is to wait
    const r = new Throttle(100_000);
    expect(r.reserve(50)).toBe(0); // half a millisecond: at once
    expect(r.reserve(10_000)).toBeGreaterThanOrEqual(99);
    expect(r.reserve(10_000)).toBeGreaterThanOrEqual(199);
    expect(new Throttle(undefined).reserve(10 ** 9)).toBe(0);
    const free = new Throttle(undefined);
    const t1 = Date.now();
    await free.take(10 ** 9);
    expect(Date.now() - t1).toBeLessThan(20);
  });
});

describe('expert weights', () => {
  it('are deterministic per (layer, expert) and differ between experts', () => {
    expect(checksum(expertWeights(3, 5, 1001))).toBe(checksum(expertWeights(3, 5, 1001)));
    expect(checksum(expertWeights(3, 5, 1000))).not.toBe(checksum(expertWeights(3, 6, 1000)));
    expect(checksum(expertWeights(3, 5, 1000))).not.toBe(checksum(expertWeights(4, 5, 1000)));
    expect(expertWeights(0, 0, 7).length).toBe(7);
  });
});
