import type Redis from 'ioredis';

/** Where fencing generations come from: each call higher than every earlier one, durably. */
export type GenerationSource = () => Promise<number>;

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * One Redis key per deployment (`SET key owner NX PX ttl`): the instance holding it is the only
 * one driving that deployment's rollouts. Renewed well inside the TTL; renewal and release only
 * touch a key this owner still holds (compare-and-set in Lua), so a lock lost to expiry is never
 * renewed or deleted behind the new holder's back.
 *
 * Each acquisition draws a fencing generation from a durable source (Postgres), not from Redis:
 * the fences it is compared with are in Postgres, and a Redis that lost data (flushed, restarted,
 * an INCR not yet fsynced) would hand a new holder a generation below them — fenced out forever.
 */
export class RolloutLock {
  /**
   * Per deployment: until when the lock is surely ours (a lease counted from before the last
   * acquire/renew was sent), on the monotonic clock so a wall-clock step cannot stretch it.
   */
  private readonly leases = new Map<string, number>();
  /** Per deployment: the fencing generation this instance got with the lock (see appendFenced). */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly nextGeneration: GenerationSource,
    readonly owner: string,
    readonly ttlMs: number,
  ) {}

  key = (deployment: string): string => `eplb:rollout-lock:${deployment}`;

  /**
   * Takes the lock, then draws a generation, then confirms the lock is still ours (a renew). The
   * confirmation is what orders generations by holder: a holder whose key expired before it drew
   * (a pause) may have drawn above its successor's, but it then fails the renew and never uses
   * it; a confirmed draw happened while the key was alive, so before any successor took it and
   * drew. Anything failing after the key was set lets the key go: nothing is left held unused.
   */
  async acquire(deployment: string): Promise<boolean> {
    const taken = (await this.redis.set(this.key(deployment), this.owner, 'PX', this.ttlMs, 'NX')) === 'OK';
    if (!taken) return false;
    try {
      const generation = await this.nextGeneration();
      if (!(await this.renew(deployment))) return false;
      this.generations.set(deployment, generation);
      return true;
    } catch (e) {
      await this.release(deployment).catch(() => undefined);
      throw e;
    }
  }

  /** The fencing generation taken with the lock (0 when not held by this instance). */
  generation(deployment: string): number {
    return this.generations.get(deployment) ?? 0;
  }

  /** False when the lock is no longer ours (expired, taken over). */
  async renew(deployment: string): Promise<boolean> {
    const sent = performance.now();
    const ok = Number(await this.redis.eval(RENEW, 1, this.key(deployment), this.owner, String(this.ttlMs))) === 1;
    if (ok) this.lease(deployment, sent);
    else this.leases.delete(deployment);
    return ok;
  }

  /**
   * True when the lock is ours. Inside the lease (half the TTL from before the last successful
   * acquire/renew was sent: nobody else can have it before the key expires, with room for clock
   * rate error) this costs no round trip — it runs before every write of a rollout step.
   */
  async holds(deployment: string): Promise<boolean> {
    if ((this.leases.get(deployment) ?? 0) > performance.now()) return true;
    const ours = (await this.redis.get(this.key(deployment))) === this.owner;
    // a GET says nothing about how long the key lives on: only acquire/renew extend the lease
    if (!ours) this.leases.delete(deployment);
    return ours;
  }

  async release(deployment: string): Promise<void> {
    this.leases.delete(deployment);
    this.generations.delete(deployment);
    await this.redis.eval(RELEASE, 1, this.key(deployment), this.owner);
  }

  private lease(deployment: string, sentAt: number): void {
    this.leases.set(deployment, sentAt + Math.floor(this.ttlMs / 2));
  }
}
