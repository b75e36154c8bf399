import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { KafkajsBus } from '@eplb/messaging';
import type { KafkaSasl } from '@eplb/platform';
import type { KafkaPrincipal } from '@eplb/contracts';
import { ensureCredentials, hasCredentials, KafkaSecurity, readCredentials, saslEnv, saslFor, scramFormatArgs, securedListenerProps } from './kafka-security';

/**
 * A real, single-node Apache Kafka broker in KRaft mode, resolved from Maven Central by the pom in
 * infra/kafka and run with the machine's Java. Data lives in a git-ignored folder.
 */
export const ROOT = resolve(__dirname, '..', '..', ...(__dirname.includes(`${join('dist', 'scripts')}`) ? ['..'] : []));
const POM_DIR = join(ROOT, 'infra', 'kafka');
const LIB_DIR = join(POM_DIR, '.runtime', 'lib');

export class InfraError extends Error {}

export interface KafkaInstance {
  /** host:port of the client listener */
  readonly broker: string;
  readonly dataDir: string;
  readonly port: number;
  readonly controllerPort: number;
  /** `scram`: SASL/SCRAM listeners and ACLs (kafka-security.ts); default an open broker. */
  readonly security?: KafkaSecurity;
}

/** The project's broker; the secured one keeps its own data (its metadata holds the SCRAM users). */
export const defaultKafka = (security: KafkaSecurity = 'none'): KafkaInstance => ({
  broker: '127.0.0.1:9092',
  dataDir: join(ROOT, '.data', security === 'scram' ? 'kafka-scram' : 'kafka'),
  port: 9092,
  controllerPort: 9093,
  security,
});

/**
 * What the launcher hands a process it starts to connect as `principal`: its KAFKA_SASL_* on the
 * project's secured broker, nothing on an open one.
 */
export function principalEnv(security: KafkaSecurity, principal: KafkaPrincipal): Record<string, string> {
  return security === 'scram' ? saslEnv(saslFor(readCredentials(defaultKafka('scram').dataDir), principal)) : {};
}

/** The launcher's credentials on a secured broker it started (undefined for an open one). */
export function adminSasl(k: KafkaInstance): KafkaSasl | undefined {
  return k.security === 'scram' ? saslFor(readCredentials(k.dataDir), 'admin') : undefined;
}

const tail = (file: string, lines = 15): string => {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
};

export async function brokerAnswers(brokers: string[], timeoutMs = 3000, sasl?: KafkaSasl): Promise<boolean> {
  const bus = new KafkajsBus({ brokers, sasl, clientId: 'eplb-infra' });
  try {
    await bus.ping(timeoutMs);
    return true;
  } catch {
    return false;
  } finally {
    await bus.close();
  }
}

function requireJava(): void {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) {
    throw new InfraError('Java not found: the Kafka broker needs a JDK/JRE 17 or newer on PATH (e.g. apt-get install openjdk-17-jre-headless)');
  }
  const m = /version "(\d+)/.exec(java.stderr);
  if (m && Number(m[1]) < 17) throw new InfraError(`Java ${m[1]} found; the Kafka 4 broker needs Java 17 or newer`);
}

async function requireFreePort(port: number, what: string): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new InfraError(err.code === 'EADDRINUSE' ? `port ${port} (${what}) is taken by a process that is not an answering Kafka broker; free it (ss -ltnp 'sport = :${port}') or set KAFKA_BROKERS` : `port ${port}: ${err.message}`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => ok()));
  });
}

/** Resolves the broker's jars once; later starts reuse them. */
export function ensureKafkaJars(log: (s: string) => void): void {
  if (existsSync(LIB_DIR) && readdirSync(LIB_DIR).some((f) => /^kafka_2\.13-.*\.jar$/.test(f))) return;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error || mvn.status !== 0) throw new InfraError('Maven not found: it resolves the Kafka broker from Maven Central (apt-get install maven)');
  log('Kafka: resolving the broker jars from Maven Central (first start only)…');
  const r = spawnSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${LIB_DIR}`, '-DincludeScope=runtime'], {
    cwd: POM_DIR,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    rmSync(LIB_DIR, { recursive: true, force: true });
    const out = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join('\n');
    throw new InfraError(`Maven could not resolve the Kafka broker from Maven Central (unreachable repository?):\n${out}`);
  }
}

function writeConfig(k: KafkaInstance): string {
  mkdirSync(k.dataDir, { recursive: true });
  const listeners =
    k.security === 'scram'
      ? securedListenerProps(ensureCredentials(k.dataDir), k.port, k.controllerPort)
      : [
          `listeners=PLAINTEXT://127.0.0.1:${k.port},CONTROLLER://127.0.0.1:${k.controllerPort}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${k.port}`,
          'controller.listener.names=CONTROLLER',
          'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          'inter.broker.listener.name=PLAINTEXT',
        ];
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${k.controllerPort}`,
    ...listeners,
    `log.dirs=${join(k.dataDir, 'data')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Consumers join at once instead of waiting 3 s for more members: tests and restarts are faster.
    'group.initial.rebalance.delay.ms=0',
    // Topics are created by the project with the partitions it wants; a typo must not create one.
    'auto.create.topics.enable=false',
    'log.retention.hours=168',
  ].join('\n');
  const file = join(k.dataDir, 'server.properties');
  // owner-only: a secured broker's file holds the passwords of its JAAS logins
  writeFileSync(file, `${props}\n`, { mode: 0o600 });
  writeFileSync(
    join(k.dataDir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${join(k.dataDir, 'server.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = info',
      'rootLogger.appenderRef.file.ref = file',
      'logger.kafka.name = kafka',
      'logger.kafka.level = warn',
      'logger.apache.name = org.apache.kafka',
      'logger.apache.level = warn',
    ].join('\n'),
  );
  return file;
}

const java = (args: string[]) => ['-cp', `${LIB_DIR}/*`, ...args];

function pidFile(k: KafkaInstance): string {
  return join(k.dataDir, 'kafka.pid');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function runningPid(k: KafkaInstance): number | null {
  const file = pidFile(k);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8'));
  return Number.isInteger(pid) && alive(pid) ? pid : null;
}

/** Starts the broker detached (it outlives this process) and waits until it answers. */
export async function startKafka(k: KafkaInstance, log: (s: string) => void, timeoutMs = 90_000): Promise<void> {
  requireJava();
  await requireFreePort(k.port, 'Kafka client listener');
  await requireFreePort(k.controllerPort, 'Kafka controller listener');
  ensureKafkaJars(log);
  const formatted = existsSync(join(k.dataDir, 'data', 'meta.properties'));
  if (formatted && k.security === 'scram' && !hasCredentials(k.dataDir)) {
    throw new InfraError(`Kafka data in ${k.dataDir} was formatted without SCRAM users; a secured broker needs a data directory of its own`);
  }
  const config = writeConfig(k);
  if (!formatted) {
    const clusterId = randomBytes(16).toString('base64url');
    // `=` form: an id starting with '-' (1 in 64) would otherwise be read as an option
    const users = k.security === 'scram' ? scramFormatArgs(ensureCredentials(k.dataDir)) : [];
    const fmt = spawnSync('java', java(['kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', config, ...users]), { encoding: 'utf8' });
    if (fmt.status !== 0) throw new InfraError(`Kafka storage format failed:\n${fmt.stdout}${fmt.stderr}`);
  }
  const out = openSync(join(k.dataDir, 'stdout.log'), 'a');
  const child = spawn(
    'java',
    ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(k.dataDir, 'log4j2.properties')}`, ...java(['kafka.Kafka', config])],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  writeFileSync(pidFile(k), String(child.pid));
  log(`Kafka: starting broker pid ${child.pid} on ${k.broker} (data ${k.dataDir})`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(child.pid!)) throw new InfraError(`Kafka broker exited during start; last log lines:\n${tail(join(k.dataDir, 'stdout.log'))}\n${tail(join(k.dataDir, 'server.log'))}`);
    if (await brokerAnswers([k.broker], 2000, adminSasl(k))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new InfraError(`Kafka broker did not answer within ${timeoutMs / 1000}s; see ${join(k.dataDir, 'server.log')}`);
}

/** Stops a broker this project started (never one it found running). */
export async function stopKafka(k: KafkaInstance, log: (s: string) => void, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = runningPid(k);
  if (pid === null) return false;
  process.kill(pid, signal);
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 100));
  rmSync(pidFile(k), { force: true });
  log(`Kafka: broker pid ${pid} stopped`);
  return true;
}
