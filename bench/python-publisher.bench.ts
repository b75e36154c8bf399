/**
 * `npm run bench:python-publisher`: the Python heat publisher's own throughput — one process
 * (one rank, as a worker runs it) publishing DeepSeek-V3-shaped `eplb.heat.v1` events (58 layers ×
 * 5 slots) through eplb_heat.HeatPublisher (librdkafka, idempotent, acks=all) as fast as it can,
 * to a topic of its own on the broker (no collector reads it). Events per second delivered, and
 * the publisher's CPU per event, with gzip (the default) and without compression.
 *
 * Options (env): PY_BENCH_SECONDS (20), EPLB_PYTHON (/usr/bin/python3).
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { KafkajsBus } from '@eplb/messaging';
import { loadConfig } from '@eplb/platform';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const SECONDS = Number(process.env.PY_BENCH_SECONDS ?? 20);
const PYTHON = process.env.EPLB_PYTHON ?? '/usr/bin/python3';
const TOPIC = 'eplb.bench.python-publisher';
const ROOT = join(__dirname, '..');

const runPython = (args: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(PYTHON, [join(__dirname, 'python-publisher-rate.py'), ...args], { env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), PYTHONDONTWRITEBYTECODE: '1' }, timeout: (SECONDS + 180) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout.trim().split('\n').pop()!);
    });
  });

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'bench-python-publisher' });
  await bus.ensureTopics([{ topic: TOPIC, partitions: 1 }]);
  await bus.close();
  const rows: Record<string, unknown>[] = [];
  for (const compression of ['gzip', 'none']) {
    const load = loadavg()[0];
    const r = JSON.parse(await runPython([config.KAFKA_BROKERS.join(','), TOPIC, 'bench-python-publisher', String(SECONDS), compression])) as Record<string, unknown>;
    rows.push({ ...r, load_avg_1m_start: Number(load.toFixed(2)), load_avg_1m_end: Number(loadavg()[0].toFixed(2)) });
    process.stderr.write(`[bench:python-publisher] ${JSON.stringify(rows[rows.length - 1])}\n`);
  }
  const table = rows
    .map((r) => `| ${String(r.compression)} | ${String(r.delivered_per_s)} | ${String(r.queued_per_s)} | ${String(r.cpu_us_per_event)} | ${String(r.delivered)} / ${String(r.events)} | ${String(r.load_avg_1m_start)} → ${String(r.load_avg_1m_end)} |`)
    .join('\n');
  writeSection(
    'Python heat publisher (`npm run bench:python-publisher`)',
    `Command: \`npm run bench:python-publisher\` (bench/python-publisher.bench.ts, bench/python-publisher-rate.py; PY_BENCH_SECONDS=${SECONDS}). Machine: ${machine()}.
One Python process (${PYTHON}, confluent-kafka/librdkafka) publishing one rank's DeepSeek-V3 heat (58 layers × 5 slots, \`eplb.heat.v1\`
JSON) through \`eplb_heat.HeatPublisher.publish_step\` (validation, encoding, idempotent produce, acks=all, linger 20 ms) in a tight
loop for ${SECONDS} s, then \`close()\` (flush); the broker on the same machine, no collector reading. delivered/s = events acknowledged /
time until the flush returned; queued/s = the loop's own rate; CPU = the Python process's user + system time per event
(librdkafka's threads included). The machine is shared: the load average is the 1-minute figure before and after each run.

| compression | delivered/s | queued/s | CPU µs/event | delivered / published | load average |
|---|---:|---:|---:|---:|---|
${table}

\`\`\`json
${JSON.stringify(rows)}
\`\`\``,
  );
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:python-publisher failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
