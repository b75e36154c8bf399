import { formatHelp } from '@eplb/cli';
import { describeFailure, EXIT, EXIT_CODES_HELP, exitCodeOf } from './exit-codes';
import { tuneCompilerForOneShot } from './one-shot-compiler';

/** A verb of the CLI: gets the arguments after its name, returns the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

interface Noun {
  readonly usage: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

// Loaded lazily so `eplb plan` does not pay for modules other verbs need (HTTP clients, Kafka).
const nouns: Record<string, Noun> = {
  deployments: {
    usage: 'deployments list|show|create|settings|loop|runs|approve|reject',
    summary: 'the registry, policy settings, the automatic loop and proposals',
    load: async () => (await import('./commands/deployments.command')).deploymentsCommand,
  },
  maps: {
    usage: 'maps list|show|diff|export|import',
    summary: 'map versions: lineage, maps, diffs, engine files',
    load: async () => (await import('./commands/maps.command')).mapsCommand,
  },
  rollout: {
    usage: 'rollout status|history|agents|start|pause|resume|abort|promote|undo',
    summary: 'deploy map versions layer by layer, watch, steer',
    load: async () => (await import('./commands/rollout.command')).rolloutCommand,
  },
  events: {
    usage: 'events ID [--type T,..] [--correlation C] [--follow]',
    summary: "a deployment's audit log: who did what, why, under which chain of custody",
    load: async () => (await import('./commands/events.command')).eventsCommand,
  },
  tokens: {
    usage: 'tokens issue',
    summary: 'API tokens (agent tokens scoped to a node)',
    load: async () => (await import('./commands/tokens.command')).tokensCommand,
  },
  agents: {
    usage: 'agents enrol-key ID NODE',
    summary: "register an agent's public key (agents on Kafka only)",
    load: async () => (await import('./commands/agents.command')).agentsCommand,
  },
  plan: {
    usage: 'plan --input HEAT.json --output PLAN.json',
    summary: 'plan an expert map offline from a heat file',
    load: async () => {
      tuneCompilerForOneShot();
      return (await import('./commands/plan.command')).planCommand;
    },
  },
  map: {
    usage: 'map convert --from FORMAT --to FORMAT',
    summary: 'convert expert map files between engine formats',
    load: async () => (await import('./commands/map.command')).mapCommand,
  },
  heat: {
    usage: 'heat publish [--file EVENTS.jsonl]',
    summary: 'send heat events to Kafka',
    load: async () => (await import('./commands/heat.command')).heatCommand,
  },
};

export function usage(): string {
  const width = Math.max(...Object.values(nouns).map((n) => n.usage.length));
  return formatHelp({
    usage: ['eplb <command> [<verb>] [options]'],
    summary: ['The EPLB control plane from a shell.', '', 'commands:', ...Object.values(nouns).map((n) => `  ${n.usage.padEnd(width)}  ${n.summary}`)].join('\n'),
    examples: ['eplb deployments list', 'eplb rollout status dsv3-a -o json', 'eplb events dsv3-a --correlation interval:dsv3-a:decode:42', 'eplb rollout start --help'],
    notes: [
      'Every verb prints a table or summary; -o json (or --json) prints the API\'s answer for scripts, -o yaml the same as YAML.\n"eplb <command> --help" and "eplb <command> <verb> --help" say more.',
      'environment: EPLB_API_URL (default http://127.0.0.1:3000), EPLB_TOKEN (default the development operator token),\nKAFKA_BROKERS and, on a broker that requires SASL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (heat publish)',
      EXIT_CODES_HELP,
    ],
  });
}

export async function runCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const noun = Object.hasOwn(nouns, name) ? nouns[name] : undefined;
  if (!noun) {
    process.stderr.write(`eplb: unknown command "${name}" (${Object.keys(nouns).join(', ')}); see eplb --help\n`);
    return EXIT.usage;
  }
  try {
    return await (await noun.load())(rest);
  } catch (err) {
    // One line naming what is wrong; the domain's errors and the API's problems already name the field.
    process.stderr.write(`eplb ${name}: ${describeFailure(err)}\n`);
    return exitCodeOf(err);
  }
}
