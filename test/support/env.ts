import { AppConfig, loadConfig } from '@eplb/platform';

/**
 * Integration tests use their own database (eplb_test) on the same servers, and their own
 * consumer-group prefix, so a developer's running stack keeps its data.
 */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    ...process.env,
    DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/eplb_test',
    // A fresh consumer group per test run, reading only what the run sends: tests never wait
    // behind a backlog other runs or benchmarks left on the shared broker.
    KAFKA_GROUP_PREFIX: `eplb-test-${process.pid}-${Date.now()}`,
    COLLECTOR_START_FROM: 'latest',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    ...overrides,
  });
}

/**
 * A Redis URL a test may flush: REDIS_URL's database when it names one other than 0 (the one a
 * developer's stack uses by default), else `fallbackDb`, kept for that test file.
 */
export function flushableRedisUrl(redisUrl: string, fallbackDb: number): string {
  const u = new URL(redisUrl);
  const db = Number(u.pathname.slice(1) || 0);
  if (db === 0) u.pathname = `/${fallbackDb}`;
  return u.toString();
}
