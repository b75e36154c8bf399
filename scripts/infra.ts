/**
 * `npm run infra:up | infra:down | infra:status` — Kafka (started here when absent), Postgres
 * (database created, migrations run) and Redis (checked). Exits non-zero with one message naming
 * what is missing.
 */
import { kafkaSasl, loadConfig } from '@eplb/platform';
import { adminSasl, brokerAnswers, defaultKafka, runningPid } from './infra/kafka';
import { hasCredentials } from './infra/kafka-security';
import { infraDown, infraUp } from './infra/up';

const log = (s: string) => process.stdout.write(`${s}\n`);

async function main(verb: string | undefined): Promise<void> {
  const config = loadConfig();
  switch (verb) {
    case 'up':
      await infraUp(config, log);
      return;
    case 'down':
      await infraDown(log);
      return;
    case 'status': {
      const local = defaultKafka(config.KAFKA_SECURITY);
      const pid = runningPid(local);
      const sasl = config.KAFKA_SECURITY === 'scram' && hasCredentials(local.dataDir) ? adminSasl(local) : kafkaSasl(config);
      const up = await brokerAnswers(config.KAFKA_BROKERS, 3000, sasl);
      log(`Kafka ${config.KAFKA_BROKERS.join(',')}: ${up ? 'answers' : 'does not answer'}${pid ? ` (project broker pid ${pid}${local.security === 'scram' ? ', SASL/SCRAM + ACLs' : ''})` : ''}`);
      return;
    }
    default:
      throw new Error('usage: infra up | down | status');
  }
}

main(process.argv[2]).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`infra: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
