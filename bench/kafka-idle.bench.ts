/**
 * `npm run bench:kafka-idle`: the CPU an idle Kafka client costs a process — one producer and one
 * consumer (as every agent and service has) connected to the local broker, nothing to read — with
 * kafkajs 2.2.4 as released and with our fix of its RequestQueue timer loop
 * (libs/messaging/src/kafkajs/request-queue-fix.ts). Each variant runs in its own child process.
 */
import { execFileSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const SECONDS = Number(process.env.KAFKA_IDLE_SECONDS ?? 10);

async function idle(fixed: boolean): Promise<void> {
  // (nothing of ours is imported in this process unless `fixed`: @eplb/platform would load the fix too)
  if (fixed) await import('../libs/messaging/src/kafkajs/request-queue-fix');
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const kafka = new Kafka({ clientId: 'bench-kafka-idle', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `bench-kafka-idle-${process.pid}`, heartbeatInterval: 1_000, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: ['eplb.rollout.commands.v1'], fromBeginning: false });
  await consumer.run({ eachMessage: async () => undefined });
  await new Promise((r) => setTimeout(r, 3_000)); // joined and settled
  const before = process.cpuUsage();
  const r0 = process.resourceUsage();
  const t = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const used = process.cpuUsage(before);
  const r1 = process.resourceUsage();
  const wall = performance.now() - t;
  // voluntary context switches: how often the process went to sleep and was woken again
  const wakeups = ((r1.voluntaryContextSwitches - r0.voluntaryContextSwitches) * 1000) / wall;
  process.stdout.write(`${JSON.stringify({ cpuPercent: ((used.user + used.system) / 1000 / wall) * 100, wakeupsPerSecond: wakeups })}\n`);
  await consumer.disconnect();
  await producer.disconnect();
}

async function main(): Promise<void> {
  const { loadConfig } = await import('@eplb/platform');
  const { infraUp } = await import('../scripts/infra/up');
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  await infraUp(config, (s) => process.stderr.write(`[bench:kafka-idle] ${s}\n`));
  const run = (variant: string) => JSON.parse(execFileSync(process.execPath, [...process.execArgv, __filename, variant], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: config.KAFKA_BROKERS.join(',') } }).trim().split('\n').pop()!) as { cpuPercent: number; wakeupsPerSecond: number };
  const released = run('released');
  const fixed = run('fixed');
  writeSection(
    'Idle Kafka client (`npm run bench:kafka-idle`)',
    `Command: \`npm run bench:kafka-idle\` (bench/kafka-idle.bench.ts). Machine: ${machine()}.
One kafkajs producer and one consumer (nothing to read) in a process of their own, ${SECONDS} s after joining; CPU of that process (user + system).

| kafkajs 2.2.4 | CPU % of one core | wake-ups per second (voluntary context switches) |
|---|---:|---:|
| as released (RequestQueue re-arms a 1 ms timer per connection forever) | ${released.cpuPercent.toFixed(1)} | ${released.wakeupsPerSecond.toFixed(0)} |
| with libs/messaging's fix (a timer only while requests wait) | ${fixed.cpuPercent.toFixed(1)} | ${fixed.wakeupsPerSecond.toFixed(0)} |`,
  );
  const r = (x: number) => Number(x.toFixed(1));
  process.stdout.write(`${JSON.stringify({ released_cpu_percent: r(released.cpuPercent), fixed_cpu_percent: r(fixed.cpuPercent), released_wakeups_per_s: r(released.wakeupsPerSecond), fixed_wakeups_per_s: r(fixed.wakeupsPerSecond) })}\n`);
}

const variant = process.argv[2];
(variant ? idle(variant === 'fixed') : main()).then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
