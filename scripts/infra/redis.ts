import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { InfraError } from './kafka';
import { freePort } from './postgres';

const BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

/**
 * A Redis server of its own (Debian's redis-server) on its own port, with no persistence, for
 * tests and benchmarks that lose Redis's data on purpose (FLUSHALL): the shared server on 6379 is
 * never touched. It is a child of this process and ends with it.
 */
export class DedicatedRedis {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly proc: ChildProcess,
  ) {}

  static async create(port?: number): Promise<DedicatedRedis> {
    const p = port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'eplb-redis-'));
    const proc = spawn(BIN, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const r = new DedicatedRedis(p, dir, proc);
    const exited = new Promise<never>((_, fail) => proc.once('exit', (code) => fail(new InfraError(`redis-server on ${p} exited with ${code} during start`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await Promise.race([r.command((c) => c.ping()), exited]);
        return r;
      } catch (e) {
        if (e instanceof InfraError || Date.now() > deadline) {
          await r.destroy();
          throw e instanceof InfraError ? e : new InfraError(`redis-server on ${p} did not answer within 30 s`);
        }
        await new Promise((ok) => setTimeout(ok, 200));
      }
    }
  }

  /** The URL of database `db` on this server. */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  /** Every key of every database gone, as a Redis that lost its data would come back. */
  async flushAll(): Promise<void> {
    await this.command((c) => c.flushall());
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((ok) => this.proc.once('exit', ok));
      this.proc.kill('SIGTERM');
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async command<T>(f: (c: Redis) => Promise<T>): Promise<T> {
    const c = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await f(c);
    } finally {
      c.disconnect();
    }
  }
}
