import { readFileSync } from 'node:fs';
import { parseHeatEvent, TOPICS } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { loadConfig } from '@eplb/platform';
import { parseArgs, stringOption, UsageError } from '../args';

/**
 * `eplb heat publish [--file EVENTS.jsonl] [--brokers host:port,...] [--raw]`: sends heat events
 * (one JSON object per line, or one JSON document) to `eplb.heat.v1`, keyed by deployment.
 * Events are checked against the contract first unless --raw (which exists to test dead-lettering).
 */
export async function heatCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'publish') throw new UsageError('usage: eplb heat publish [--file EVENTS.jsonl] [--brokers LIST] [--raw]');
  const args = parseArgs(rest, { values: ['file', 'brokers'], flags: ['raw'] });
  const file = stringOption(args, 'file');
  const text = readFileSync(file ?? 0, 'utf8').trim();
  const lines = text.startsWith('[') ? (JSON.parse(text) as unknown[]).map((e) => JSON.stringify(e)) : text.split('\n').filter((l) => l.trim());
  const raw = args.options.has('raw');
  const messages = lines.map((line, i) => {
    const verdict = parseHeatEvent(line);
    if (!verdict.ok && !raw) throw new Error(`event ${i + 1}: ${verdict.reason}`);
    return { key: verdict.ok ? verdict.event.deployment : null, value: line };
  });
  const config = loadConfig();
  const brokers = stringOption(args, 'brokers')?.split(',') ?? config.KAFKA_BROKERS;
  const bus = new KafkajsBus({ brokers, clientId: 'eplb-cli' });
  try {
    const producer = await bus.producer();
    await producer.send(TOPICS.heat, messages);
    process.stderr.write(`published ${messages.length} event(s) to ${TOPICS.heat}\n`);
    return 0;
  } finally {
    await bus.close();
  }
}
