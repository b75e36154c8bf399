/** `npm run migration:run`: creates the database if missing and applies pending migrations. */
import { loadConfig } from '@eplb/platform';
import { ensurePostgres, migrate } from './infra/up';

const log = (s: string) => process.stdout.write(`${s}\n`);
const config = loadConfig();
ensurePostgres(config, log)
  .then(() => migrate(config, log))
  .then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
