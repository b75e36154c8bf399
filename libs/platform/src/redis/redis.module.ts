import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import type { ReadinessCheck } from '../health/readiness';

export const REDIS = Symbol('REDIS');

/**
 * A dedicated probe connection: no offline queue and no retries per request, so a dead Redis
 * makes /readyz fail at once instead of queueing the PING until it comes back.
 */
@Injectable()
export class RedisCheck implements ReadinessCheck, OnApplicationShutdown {
  readonly name = 'redis';
  private readonly probe: Redis;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.probe = new Redis(config.REDIS_URL, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      retryStrategy: () => 1000,
    });
    this.probe.on('error', () => undefined); // reported through check()
  }

  async check(): Promise<void> {
    if (this.probe.status === 'wait') await this.probe.connect().catch(() => undefined);
    try {
      const pong = await this.probe.ping();
      if (pong !== 'PONG') throw new Error(`unexpected answer ${pong}`);
    } catch (err) {
      throw new Error(`Redis unreachable: ${(err as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    this.probe.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      // BullMQ workers need maxRetriesPerRequest: null (blocking commands must not give up).
      useFactory: (config: AppConfig) => new Redis(config.REDIS_URL, { maxRetriesPerRequest: null }),
    },
    RedisCheck,
  ],
  exports: [REDIS, RedisCheck],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
