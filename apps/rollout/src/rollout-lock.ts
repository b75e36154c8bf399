import type Redis from 'ioredis';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * One Redis key per deployment (`SET key owner NX PX ttl`): the instance holding it is the only
 * one driving that deployment's rollouts. Renewed well inside the TTL; renewal and release only
 * touch a key this owner still holds (compare-and-set in Lua), so a lock lost to expiry is never
 * renewed or deleted behind the new holder's back.
 */
export class RolloutLock {
  constructor(
    private readonly redis: Redis,
    readonly owner: string,
    readonly ttlMs: number,
  ) {}

  key = (deployment: string): string => `eplb:rollout-lock:${deployment}`;

  async acquire(deployment: string): Promise<boolean> {
    return (await this.redis.set(this.key(deployment), this.owner, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  /** False when the lock is no longer ours (expired, taken over). */
  async renew(deployment: string): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 1, this.key(deployment), this.owner, String(this.ttlMs))) === 1;
  }

  async holds(deployment: string): Promise<boolean> {
    return (await this.redis.get(this.key(deployment))) === this.owner;
  }

  async release(deployment: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(deployment), this.owner);
  }
}
