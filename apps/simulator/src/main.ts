#!/usr/bin/env node
/**
 * `npm run sim -- --deployment ID ...`: a simulated MoE cluster publishing heat to Kafka.
 * Logic lives in cli.ts and its modules; this file wires the process: env, signals, exit code.
 */
import { DEV_BOOTSTRAP_TOKEN, kafkaSasl, loadConfig } from '@eplb/platform';
import { simulatorCli } from './cli';

// kafkajs' one-time notice about its v2 default partitioner; keys are hashed consistently either way.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130); // second Ctrl-C: do not wait for the flush
  process.stderr.write('sim: interrupted, flushing (Ctrl-C again to quit at once)\n');
  controller.abort();
});
process.on('SIGTERM', () => controller.abort());

simulatorCli({
  argv: process.argv.slice(2),
  defaultToken: process.env.EPLB_TOKEN ?? process.env.EPLB_BOOTSTRAP_TOKEN ?? DEV_BOOTSTRAP_TOKEN,
  defaultBrokers: () => loadConfig().KAFKA_BROKERS,
  kafkaSasl: () => kafkaSasl(loadConfig()),
  defaultDatabaseUrl: () => loadConfig().DATABASE_URL,
  signal: controller.signal,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
