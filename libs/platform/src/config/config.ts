import { z } from 'zod';

/**
 * Every setting comes from the environment, validated once at start into a typed object.
 * Local defaults match the machine the README describes (Postgres, Redis and a one-node Kafka on
 * loopback), so `npm start` needs no .env; production sets them explicitly.
 */
const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/eplb'),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1)),
  KAFKA_HEAT_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(8),
  KAFKA_GROUP_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]+$/).default('eplb'),
  /** Where a consumer group without committed offsets starts: the whole retained topic, or only new events. */
  COLLECTOR_START_FROM: z.enum(['earliest', 'latest']).default('earliest'),
  /** Days of episodes and rollups kept (daily partitions older than this are dropped hourly). */
  HEAT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  API_PORT: port(3000),
  COLLECTOR_PORT: port(3001),
  SCHEDULER_PORT: port(3002),
  ROLLOUT_PORT: port(3003),
  AGENT_PORT: port(3004),
  HTTP_HOST: z.string().default('127.0.0.1'),
  /** The built web console the API serves under /console (`npm run build` writes it), relative to the working directory. */
  CONSOLE_DIR: z.string().min(1).default('dist/console'),
  /** Operator token accepted from the first start on; stored hashed like any other. */
  EPLB_BOOTSTRAP_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** When false, apps expect the schema to be migrated by `npm run migration:run`. */
  MIGRATIONS_RUN_AT_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type AppConfig = z.infer<typeof configSchema>;

/** A development-only operator token, so a fresh clone works; refused in production. */
export const DEV_BOOTSTRAP_TOKEN = 'eplb-dev-operator-token-change-me';

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.EPLB_BOOTSTRAP_TOKEN === undefined) {
    if (config.NODE_ENV === 'production') {
      throw new ConfigError('invalid environment:\n  EPLB_BOOTSTRAP_TOKEN: required in production');
    }
    return { ...config, EPLB_BOOTSTRAP_TOKEN: DEV_BOOTSTRAP_TOKEN };
  }
  return config;
}
