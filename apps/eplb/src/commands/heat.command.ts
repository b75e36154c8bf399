import { readFileSync } from 'node:fs';
import { parseHeatEvent, TOPICS } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { kafkaSasl, loadConfig } from '@eplb/platform';
import { CommandGroup, noMoreArguments, runGroup } from '../command-group';

/**
 * `eplb heat publish`: sends heat events (one JSON object per line, or one JSON array) to
 * `eplb.heat.v1`, keyed by deployment. Events are checked against the contract first unless --raw
 * (which exists to test dead-lettering).
 */
export const HEAT: CommandGroup<void> = {
  name: 'heat',
  summary: 'Heat events to Kafka, as workers publish them (eplb.heat.v1).',
  verbs: {
    publish: {
      args: '[--file EVENTS.jsonl] [--brokers LIST] [--raw]',
      summary: 'send heat events (JSON lines or a JSON array; stdin by default) to eplb.heat.v1',
      options: {
        file: { type: 'string', value: 'FILE', help: 'read this instead of stdin' },
        brokers: { type: 'string', value: 'LIST', help: 'Kafka brokers host:port,... (default KAFKA_BROKERS)' },
        raw: { type: 'boolean', help: 'send events as they are, without the contract check (to test dead-lettering)' },
      },
      examples: ['eplb heat publish --file events.jsonl'],
      async run(args) {
        noMoreArguments(args, 0);
        const text = readFileSync(args.string('file') ?? 0, 'utf8').trim();
        const lines = text.startsWith('[') ? (JSON.parse(text) as unknown[]).map((e) => JSON.stringify(e)) : text.split('\n').filter((l) => l.trim());
        const raw = args.flag('raw');
        const messages = lines.map((line, i) => {
          const verdict = parseHeatEvent(line);
          if (!verdict.ok && !raw) throw new Error(`event ${i + 1}: ${verdict.reason}`);
          return { key: verdict.ok ? verdict.event.deployment : null, value: line };
        });
        const config = loadConfig();
        const brokers = args.string('brokers')?.split(',') ?? config.KAFKA_BROKERS;
        const bus = new KafkajsBus({ brokers, sasl: kafkaSasl(config), clientId: 'eplb-cli' });
        try {
          const producer = await bus.producer();
          await producer.send(TOPICS.heat, messages);
          process.stderr.write(`published ${messages.length} event(s) to ${TOPICS.heat}\n`);
        } finally {
          await bus.close();
        }
      },
    },
  },
};

export const heatCommand = (argv: string[]): Promise<number> => runGroup(HEAT, argv, (t) => process.stdout.write(t), () => undefined);
