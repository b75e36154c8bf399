import { infraUp } from '../../scripts/infra/up';
import { testConfig } from './env';

/** Brings up (or reuses) the real Kafka broker, checks Postgres and Redis, migrates eplb_test. */
export default async function setup(): Promise<void> {
  const log = (s: string) => process.stdout.write(`[infra] ${s}\n`);
  await infraUp(testConfig(), log);
}
