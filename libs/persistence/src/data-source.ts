import { DataSource } from 'typeorm';
import { migrations } from '../../../migrations';
import { ApiTokenEntity } from './entities/api-token.entity';
import { DeploymentEntity } from './entities/deployment.entity';
import { EventEntity } from './entities/event.entity';
import { MapVersionEntity } from './entities/map-version.entity';

export const entities = [DeploymentEntity, MapVersionEntity, ApiTokenEntity, EventEntity];

/** The one data source definition, shared by the apps, the migration command and the tests. */
export function createDataSource(url: string, applicationName = 'eplb'): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'typeorm_migrations',
    applicationName,
    extra: { max: 10, connectionTimeoutMillis: 3000 },
  });
}

/** An arbitrary constant: the advisory lock all migrators take so that concurrent starts queue. */
const MIGRATION_LOCK = 7_146_312_001;

export async function runMigrations(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Creates the database named in the URL when it is missing (connects to `postgres` to do so). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(name)) throw new Error(`DATABASE_URL names an unusual database "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const ds = new DataSource({ type: 'postgres', url: admin.toString(), extra: { connectionTimeoutMillis: 3000 } });
  await ds.initialize();
  try {
    const rows: unknown[] = await ds.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rows.length > 0) return false;
    await ds.query(`CREATE DATABASE "${name}"`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err; // created concurrently: fine
    });
    return true;
  } finally {
    await ds.destroy();
  }
}
