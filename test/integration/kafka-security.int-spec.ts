import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGroup, DEAD_LETTER_HEADERS, KafkaPrincipal, TOPICS, type DeadLetterV1 } from '@eplb/contracts';
import { KafkajsBus, type IncomingMessage, type MessageConsumer } from '@eplb/messaging';
import { type AppConfig, kafkaSasl } from '@eplb/platform';
import { adminSasl, type KafkaInstance, startKafka, stopKafka } from '../../scripts/infra/kafka';
import { readCredentials, saslEnv, saslFor, type BrokerCredentials } from '../../scripts/infra/kafka-security';
import { provisionKafka } from '../../scripts/infra/up';
import { eventually, type RunningApp, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { freePorts } from '../support/processes';

/** 'accepted', or the error code the broker answered with wherever kafkajs nested it (else the message). */
const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', refusal);

function refusal(err: unknown): string {
  for (let e = err as { type?: string; cause?: unknown; originalError?: unknown; message?: string } | undefined; e; e = (e.cause ?? e.originalError) as typeof e) {
    if (e.type) return e.type;
  }
  return String((err as Error).message);
}

// Debian's interpreter, where apt installs python3-confluent-kafka (scripts/python-deps.sh)
const PYTHON = process.env.EPLB_PYTHON ?? '/usr/bin/python3';
const ROOT = resolve(__dirname, '../..');

/**
 * The broker's own security (KAFKA_SECURITY=scram): a broker of its own on free ports and a
 * temporary data directory, SCRAM users made at format time and the access table's ACLs applied
 * by the launcher's code. Nobody gets in without a principal, a principal gets only what the
 * table grants, and the real collector works under its own principal.
 */
describe('Kafka with SASL/SCRAM and ACLs (KAFKA_SECURITY=scram)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eplb-kafka-scram-'));
  const log = () => undefined;
  let kafka: KafkaInstance | undefined;
  let creds: BrokerCredentials;
  let config: AppConfig;
  const buses: KafkajsBus[] = [];
  const consumers: MessageConsumer[] = [];
  let collector: RunningApp | undefined;

  /**
   * An app's config as one principal: the environment the launcher hands a process it starts
   * (saslEnv), through the same schema the apps load.
   */
  const configAs = (principal: KafkaPrincipal | 'admin', password = creds[principal]): AppConfig =>
    testConfig({
      KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
      KAFKA_GROUP_PREFIX: config.KAFKA_GROUP_PREFIX,
      ...saslEnv({ ...saslFor(creds, principal), password }),
    });

  /** A client as the apps make one: the same bus, the same settings. */
  const busAs = (principal: KafkaPrincipal | 'admin', password?: string): KafkajsBus => {
    const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, sasl: kafkaSasl(configAs(principal, password)), clientId: `test-security-${principal}` });
    buses.push(bus);
    return bus;
  };

  /** The Python publisher's CLI (or, `cli` false, python itself) with `env` added: exit code and output. */
  const python = (args: string[], env: Record<string, string>, input: string, cli = true) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const child = execFile(
        PYTHON,
        cli ? ['-m', 'eplb_heat', ...args] : args,
        { cwd: ROOT, env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), PYTHONDONTWRITEBYTECODE: '1', ...env }, timeout: 120_000 },
        (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input);
    });

  /** Collects what a consumer reads; resolves once it joined its group. */
  const reader = async (bus: KafkajsBus, groupId: string, topic: string): Promise<IncomingMessage[]> => {
    const seen: IncomingMessage[] = [];
    let joined = false;
    const consumer = bus.consumer({ groupId, topics: [topic], fromBeginning: true, onAssignment: () => (joined = true) });
    consumers.push(consumer);
    await consumer.run(async (batch) => {
      seen.push(...batch.messages);
    });
    await eventually(async () => joined, 60_000);
    return seen;
  };

  // A broker start takes 10–30 s, more on a loaded host: hooks and the tests that start an app or
  // a process wait on conditions, with room.
  beforeAll(async () => {
    const [port, controllerPort] = await freePorts(2);
    kafka = { broker: `127.0.0.1:${port}`, port, controllerPort, dataDir: dir, security: 'scram' };
    await startKafka(kafka, log, 150_000);
    creds = readCredentials(dir);
    config = testConfig({ KAFKA_BROKERS: kafka.broker, KAFKA_SECURITY: 'scram' });
    await provisionKafka(config, adminSasl(kafka));
  }, 300_000);

  afterAll(async () => {
    await collector?.close();
    await Promise.allSettled(consumers.map((c) => c.close()));
    await Promise.allSettled(buses.map((b) => b.close()));
    // always, even when a start above failed half-way: the pid file says what to stop
    await stopKafka(kafka ?? { broker: '', port: 0, controllerPort: 0, dataDir: dir }, log, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('refuses a client without credentials', async () => {
    // the apps' own readiness probe: the broker closes the connection before any request
    const anonymousBus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-security-anonymous' });
    buses.push(anonymousBus);
    await expect(anonymousBus.ping(10_000)).rejects.toThrow(/unreachable/);
    const anonymous = new Kafka({ clientId: 'test-security-anonymous', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer();
    await expect(
      (async () => {
        await anonymous.connect();
        await anonymous.send({ topic: TOPICS.heat, messages: [{ value: 'forged' }] });
      })(),
    ).rejects.toThrow(/Closed connection|Connection closed|disconnected/i);
    await anonymous.disconnect().catch(() => undefined);
  });

  it('refuses a known principal with a wrong password', async () => {
    await expect(busAs('worker', 'not-the-password').ping(10_000)).rejects.toThrow(/authentication failed.*invalid credentials/i);
  });

  it('refuses a principal the topic it was not granted: TOPIC_AUTHORIZATION_FAILED', async () => {
    const agent = await busAs('agent').producer();
    expect(await outcome(agent.send(TOPICS.rolloutAcks, [{ key: 'sec', value: '{}' }]))).toBe('accepted');
    expect(await outcome(agent.send(TOPICS.heat, [{ key: 'forged', value: '{}' }]))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await outcome(agent.send(TOPICS.rolloutCommands, [{ key: 'forged', value: '{}' }]))).toBe('TOPIC_AUTHORIZATION_FAILED');
    const worker = await busAs('worker').producer();
    expect(await outcome(worker.send(TOPICS.rolloutCommands, [{ key: 'forged', value: '{}' }]))).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('lets the rollout service send commands that an agent reads in its own group', async () => {
    const commands = await reader(busAs('agent'), agentGroup(config.KAFKA_GROUP_PREFIX, 'sec', 0), TOPICS.rolloutCommands);
    const rollout = await busAs('rollout').producer({ compression: 'none' });
    await rollout.send(TOPICS.rolloutCommands, [{ key: 'sec', value: '{"command":"from the rollout service"}' }]);
    await eventually(async () => commands.some((m) => m.value?.toString().includes('from the rollout service')), 60_000);
  }, 120_000);

  it("carries a worker's heat to the real collector, which dead-letters under its own principal", async () => {
    collector = await startTestCollector(configAs('collector'));
    const worker = await busAs('worker').producer();
    await worker.send(TOPICS.heat, [{ key: 'sec-test', value: 'not a heat event' }]);
    const letters = await reader(busAs('admin'), 'test-security-dlq', TOPICS.heatDeadLetter);
    const letter = await eventually(async () => letters.find((m) => m.key?.toString() === 'sec-test'), 60_000);
    expect(letter.headers[DEAD_LETTER_HEADERS.reason]).toBeTruthy();
    expect(Buffer.from((JSON.parse(letter.value!.toString()) as DeadLetterV1).valueBase64!, 'base64').toString()).toBe('not a heat event');
  }, 180_000);


  it('has the Python publisher write heat as the worker principal (the same KAFKA_SASL_* settings)', async () => {
    const heat = await reader(busAs('admin'), 'test-security-heat', TOPICS.heat);
    const event = JSON.stringify({ deployment: 'sec-py', rank: 0, step: 0, mapVersion: 1, load: [[1, 2]] });
    const env = saslEnv(saslFor(creds, 'worker'));
    const lib = await python(['-c', 'import confluent_kafka; print(confluent_kafka.libversion()[1])'], {}, '', false);
    const run = await python(['--bootstrap', kafka!.broker, '--timeout', '90', 'publish', '-'], env, `${event}\n`);
    if (Number(lib.stdout.trim()) < 0x02060100) {
      // librdkafka < 2.6.1 cannot finish SCRAM with a Kafka 4 broker: refused at once, with why
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/fails SCRAM against Kafka 4 brokers \(fixed in 2\.6\.1\)/);
      return;
    }
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toMatchObject({ delivered: 1, failed: 0, undelivered: 0 });
    await eventually(async () => heat.some((m) => m.key?.toString() === 'sec-py'), 60_000);
  }, 180_000);
});
