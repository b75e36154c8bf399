import type Redis from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RolloutLock } from './rollout-lock';

/** A Redis stand-in for SET NX PX / GET / the two scripts, counting the round trips. */
function fakeRedis() {
  const keys = new Map<string, { value: string; until: number }>();
  const live = (k: string) => {
    const e = keys.get(k);
    return e && e.until > Date.now() ? e : undefined;
  };
  const calls = { get: 0, eval: 0 };
  const redis = {
    async get(k: string) {
      calls.get++;
      return live(k)?.value ?? null;
    },
    async eval(script: string, n: number, ...args: string[]) {
      calls.eval++;
      if (n === 2) {
        // take the lock and a new fencing generation
        const [k, fence, owner, ttl] = args;
        if (live(k)) return 0;
        keys.set(k, { value: owner, until: Date.now() + Number(ttl) });
        const g = Number(keys.get(fence)?.value ?? 0) + 1;
        keys.set(fence, { value: String(g), until: Infinity });
        return g;
      }
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

describe('RolloutLock', () => {
  afterEach(() => vi.useRealTimers());

  it('one owner at a time; renew and release only by the owner; each acquisition a higher fencing generation', async () => {
    const { redis } = fakeRedis();
    const a = new RolloutLock(redis, 'a', 1_000);
    const b = new RolloutLock(redis, 'b', 1_000);
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
    const a = new RolloutLock(redis, 'a', 10_000);
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
    const b = new RolloutLock(redis, 'b', 10_000);
    expect(await b.acquire('d')).toBe(true);
    expect(await a.holds('d')).toBe(false);
    expect(await a.renew('d')).toBe(false);
  });
});
