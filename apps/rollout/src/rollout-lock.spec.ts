import type Redis from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RolloutLock } from './rollout-lock';

/** A Redis stand-in for SET NX PX / GET / the renew and release scripts, counting the round trips. */
function fakeRedis() {
  const keys = new Map<string, { value: string; until: number }>();
  const live = (k: string) => {
    const e = keys.get(k);
    return e && e.until > Date.now() ? e : undefined;
  };
  const calls = { get: 0, eval: 0, set: 0 };
  const redis = {
    async get(k: string) {
      calls.get++;
      return live(k)?.value ?? null;
    },
    async set(k: string, owner: string, px: 'PX', ttl: number, nx: 'NX') {
      calls.set++;
      expect([px, nx]).toEqual(['PX', 'NX']);
      if (live(k)) return null;
      keys.set(k, { value: owner, until: Date.now() + ttl });
      return 'OK';
    },
    async eval(script: string, _n: number, ...args: string[]) {
      calls.eval++;
      const [k, owner, ttl] = args;
      const e = live(k);
      if (!e || e.value !== owner) return 0;
      if (script.includes('pexpire')) e.until = Date.now() + Number(ttl);
      else keys.delete(k);
      return 1;
    },
  };
  return { redis: redis as unknown as Redis, calls, keys };
}

/** A durable generation source: a counter that outlives the fake Redis's keys. */
function sequence() {
  let last = 0;
  return async () => ++last;
}

describe('RolloutLock', () => {
  afterEach(() => vi.useRealTimers());

  it('one owner at a time; renew and release only by the owner; each acquisition a higher fencing generation', async () => {
    const { redis } = fakeRedis();
    const next = sequence();
    const a = new RolloutLock(redis, next, 'a', 1_000);
    const b = new RolloutLock(redis, next, 'b', 1_000);
    expect(await a.acquire('d')).toBe(true);
    expect(a.generation('d')).toBe(1);
    expect(await b.acquire('d')).toBe(false);
    expect(b.generation('d')).toBe(0);
    expect(await b.renew('d')).toBe(false);
    await b.release('d');
    expect(await b.holds('d')).toBe(false);
    expect(await a.holds('d')).toBe(true);
    await a.release('d');
    expect(await b.acquire('d')).toBe(true);
    expect(b.generation('d')).toBe(2);
  });

  it('answers holds() from its lease without a round trip, and asks Redis once the lease ran out', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    vi.setSystemTime(1_000_000);
    const { redis, calls } = fakeRedis();
    const next = sequence();
    const a = new RolloutLock(redis, next, 'a', 10_000);
    expect(await a.acquire('d')).toBe(true);
    expect(await a.holds('d')).toBe(true);
    expect(calls.get).toBe(0);
    vi.advanceTimersByTime(4_999);
    expect(await a.holds('d')).toBe(true);
    expect(calls.get).toBe(0);
    vi.advanceTimersByTime(1); // half the TTL: ask
    expect(await a.holds('d')).toBe(true);
    expect(calls.get).toBe(1);
    expect(await a.renew('d')).toBe(true); // a renew extends the lease
    expect(await a.holds('d')).toBe(true);
    expect(calls.get).toBe(1);
    vi.advanceTimersByTime(10_001); // expired, another instance takes it
    const b = new RolloutLock(redis, next, 'b', 10_000);
    expect(await b.acquire('d')).toBe(true);
    expect(await a.holds('d')).toBe(false);
    expect(await a.renew('d')).toBe(false);
  });

  it('after Redis lost every key, the next holder still gets a generation above every earlier one', async () => {
    const { redis, keys } = fakeRedis();
    const next = sequence();
    const a = new RolloutLock(redis, next, 'a', 1_000);
    const b = new RolloutLock(redis, next, 'b', 1_000);
    expect(await a.acquire('d')).toBe(true);
    await a.release('d');
    expect(await a.acquire('d')).toBe(true);
    expect(a.generation('d')).toBe(2);
    keys.clear(); // FLUSHDB, or a restart without the last second of AOF
    expect(await b.acquire('d')).toBe(true);
    expect(b.generation('d')).toBe(3);
    expect(await a.renew('d')).toBe(false);
  });

  it('lets the key go when no generation can be drawn, and keeps no generation drawn after the key expired', async () => {
    const { redis, keys } = fakeRedis();
    const a = new RolloutLock(redis, async () => Promise.reject(new Error('database down')), 'a', 1_000);
    await expect(a.acquire('d')).rejects.toThrow('database down');
    expect(keys.has(a.key('d'))).toBe(false);
    expect(a.generation('d')).toBe(0);
    // the key expires (a pause) between SET and the draw, and b takes it meanwhile
    const next = sequence();
    const b = new RolloutLock(redis, next, 'b', 1_000);
    const c = new RolloutLock(
      redis,
      async () => {
        keys.delete(c.key('d'));
        expect(await b.acquire('d')).toBe(true);
        return next();
      },
      'c',
      1_000,
    );
    expect(await c.acquire('d')).toBe(false);
    expect(c.generation('d')).toBe(0);
    expect(b.generation('d')).toBe(1);
    expect(await b.holds('d')).toBe(true);
  });
});
