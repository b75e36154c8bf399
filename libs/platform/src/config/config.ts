import { z } from 'zod';

/**
 * Every setting comes from the environment, validated once at start into a typed object.
 * Local defaults match the machine the README describes (Postgres, Redis and a one-node Kafka on
 * loopback), so `npm start` needs no .env; production sets them explicitly.
 */
/** What kafkajs (and librdkafka, as `sasl.mechanism` upper-cased) call the mechanisms we accept. */
export const KAFKA_SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;

export interface KafkaSasl {
  readonly mechanism: (typeof KAFKA_SASL_MECHANISMS)[number];
  readonly username: string;
  readonly password: string;
}

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
  /**
   * The principal this process authenticates as on a broker that requires SASL (one per role:
   * worker, collector, rollout, agent, api; the broker's ACLs say what each may do). All three or
   * none: a client without them connects unauthenticated, which only an open broker accepts.
   */
  KAFKA_SASL_MECHANISM: z.enum(KAFKA_SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** How the launcher (`npm run infra:up`) runs the broker it starts: open, or SASL/SCRAM with ACLs. */
  KAFKA_SECURITY: z.enum(['none', 'scram']).default('none'),
  /** Where a consumer group without committed offsets starts: the whole retained topic, or only new events. */
  COLLECTOR_START_FROM: z.enum(['earliest', 'latest']).default('earliest'),
  /** Days of episodes and rollups kept (daily partitions older than this are dropped hourly). */
  HEAT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** How long the API lets one what-if's policy run (on a thread of its own) before refusing it. */
  WHAT_IF_TIME_LIMIT_MS: z.coerce.number().int().min(1).max(600_000).default(30_000),
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
}).superRefine((c, ctx) => {
  const sasl = { KAFKA_SASL_MECHANISM: c.KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME: c.KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: c.KAFKA_SASL_PASSWORD };
  const set = Object.values(sasl).filter((v) => v !== undefined).length;
  if (set === 0 || set === 3) return;
  for (const [name, value] of Object.entries(sasl)) {
    if (value === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'required with the other KAFKA_SASL_* settings' });
  }
});

export type AppConfig = z.infer<typeof configSchema>;

/** A development-only operator token, so a fresh clone works; refused in production. */
export const DEV_BOOTSTRAP_TOKEN = 'eplb-dev-operator-token-change-me';

/**
 * Outside production, where the rollout service keeps the private key it signs commands with
 * (generated on first use) and where agents read its public half, so a fresh clone works. In
 * production both are given (ROLLOUT_SIGNING_KEY_FILE, AGENT_SERVICE_PUBLIC_KEY_FILE).
 */
export const DEV_ROLLOUT_SIGNING_KEY_FILE = '.data/keys/rollout-service.key';

export class ConfigError extends Error {}

/** The Kafka client's SASL credentials, or undefined for an unauthenticated client. */
export function kafkaSasl(config: AppConfig): KafkaSasl | undefined {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  return mechanism && username && password ? { mechanism, username, password } : undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production') {
    // the development token is in this repository for anyone to read
    if (config.EPLB_BOOTSTRAP_TOKEN === DEV_BOOTSTRAP_TOKEN) {
      throw new ConfigError('invalid environment:\n  EPLB_BOOTSTRAP_TOKEN: the published development token is refused in production');
    }
    // only the API needs it (BootstrapTokenService refuses to start without it); other apps,
    // agents above all, are not given the operator's token
    return config;
  }
  if (config.EPLB_BOOTSTRAP_TOKEN === undefined) return { ...config, EPLB_BOOTSTRAP_TOKEN: DEV_BOOTSTRAP_TOKEN };
  return config;
}
