import { join } from 'node:path';
import Redis from 'ioredis';
import { topicSpecs } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { createDataSource, ensureDatabase, runMigrations } from '@eplb/persistence';
import { type AppConfig, kafkaSasl, type KafkaSasl } from '@eplb/platform';
import { adminSasl, brokerAnswers, defaultKafka, InfraError, runningPid, startKafka, stopKafka } from './kafka';
import { grantAccess } from './kafka-acls';
import { hasCredentials } from './kafka-security';

type Log = (s: string) => void;

function where(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
}

export async function ensurePostgres(config: AppConfig, log: Log): Promise<void> {
  try {
    if (await ensureDatabase(config.DATABASE_URL)) log(`Postgres: created database ${new URL(config.DATABASE_URL).pathname.slice(1)}`);
    else log(`Postgres: ready at ${where(config.DATABASE_URL)}`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'ECONNREFUSED' ? ' (connection refused: is PostgreSQL running? e.g. pg_ctlcluster 15 main start)' : '';
    throw new InfraError(`Postgres at ${where(config.DATABASE_URL)} refused: ${e.message}${hint}; DATABASE_URL overrides the address`);
  }
}

export async function migrate(config: AppConfig, log: Log): Promise<void> {
  const ds = createDataSource(config.DATABASE_URL, 'eplb-migrate');
  await ds.initialize();
  try {
    const applied = await runMigrations(ds);
    log(applied.length ? `Postgres: applied migrations ${applied.join(', ')}` : 'Postgres: schema up to date');
  } finally {
    await ds.destroy();
  }
}

export async function ensureRedis(config: AppConfig, log: Log): Promise<void> {
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    log(`Redis: ready at ${where(config.REDIS_URL)}`);
  } catch (err) {
    throw new InfraError(`Redis at ${where(config.REDIS_URL)} refused: ${(err as Error).message} (is redis-server running? REDIS_URL overrides the address)`);
  } finally {
    redis.disconnect();
  }
}

/**
 * Reuses a broker that answers at KAFKA_BROKERS; otherwise starts the project's own (default
 * address only), open or, with KAFKA_SECURITY=scram, with SASL/SCRAM and the access table's ACLs.
 */
export async function ensureKafka(config: AppConfig, log: Log): Promise<void> {
  const local = defaultKafka(config.KAFKA_SECURITY);
  const isLocal = config.KAFKA_BROKERS.length === 1 && config.KAFKA_BROKERS[0] === local.broker;
  const secured = config.KAFKA_SECURITY === 'scram';
  if (secured && !isLocal) {
    throw new InfraError(`KAFKA_SECURITY=scram secures the broker this project starts at ${local.broker}; the one at ${config.KAFKA_BROKERS.join(',')} is secured by whoever runs it`);
  }
  // on its own secured broker the launcher is the super user; elsewhere it is whoever KAFKA_SASL_* say
  const sasl = () => (secured ? adminSasl(local) : kafkaSasl(config));
  if ((!secured || hasCredentials(local.dataDir)) && (await brokerAnswers(config.KAFKA_BROKERS, 3000, sasl()))) {
    log(`Kafka: ready at ${config.KAFKA_BROKERS.join(',')}${secured ? ' (SASL/SCRAM, ACLs)' : ''}`);
  } else if (isLocal) {
    const other = defaultKafka(secured ? 'none' : 'scram');
    if (runningPid(other) !== null || (secured && (await brokerAnswers(config.KAFKA_BROKERS)))) {
      throw new InfraError(
        `a${secured ? 'n open' : ' secured'} broker already serves ${local.broker}; stop it (npm run infra:down) or set KAFKA_SECURITY=${secured ? 'none' : 'scram'}`,
      );
    }
    await startKafka(local, log);
    log(`Kafka: ready at ${local.broker}${secured ? ` (SASL/SCRAM, ACLs; passwords in ${join(local.dataDir, 'credentials.json')})` : ''}`);
  } else {
    throw new InfraError(`Kafka at ${config.KAFKA_BROKERS.join(',')} does not answer (KAFKA_BROKERS points to a broker this project does not start)`);
  }
  await provisionKafka(config, sasl());
}

/**
 * The project's topics, created as `sasl` (the super user on a secured broker); with
 * KAFKA_SECURITY=scram also the access table's ACLs for KAFKA_GROUP_PREFIX's groups.
 */
export async function provisionKafka(config: AppConfig, sasl: KafkaSasl | undefined): Promise<void> {
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, sasl, clientId: 'eplb-infra' });
  try {
    await bus.ensureTopics(topicSpecs(config.KAFKA_HEAT_PARTITIONS));
  } finally {
    await bus.close();
  }
  if (config.KAFKA_SECURITY === 'scram') {
    if (!sasl) throw new InfraError('ACLs are created by the broker\'s super user: no credentials given');
    await grantAccess(config.KAFKA_BROKERS, sasl, config.KAFKA_GROUP_PREFIX);
  }
}

/** Idempotent: everything the apps need, started or checked, each with a message naming what is missing. */
export async function infraUp(config: AppConfig, log: Log): Promise<void> {
  await ensurePostgres(config, log);
  await migrate(config, log);
  await ensureRedis(config, log);
  await ensureKafka(config, log);
}

export async function infraDown(log: Log): Promise<void> {
  const stopped = [await stopKafka(defaultKafka('none'), log), await stopKafka(defaultKafka('scram'), log)];
  if (!stopped.includes(true)) log('Kafka: no broker started by this project is running');
  log('Postgres and Redis are the machine\'s own services: left running');
}
