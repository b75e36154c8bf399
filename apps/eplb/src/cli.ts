import { UsageError } from './args';

/** A verb of the CLI: gets the arguments after its name, returns the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

interface Verb {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

// Loaded lazily so `eplb plan` does not pay for modules other verbs need (HTTP clients, Kafka).
const verbs: Record<string, Verb> = {
  plan: {
    summary: 'plan --input HEAT.json --output PLAN.json [--policy NAME] [--verbose]',
    load: async () => (await import('./commands/plan.command')).planCommand,
  },
  heat: {
    summary: 'heat publish [--file EVENTS.jsonl] [--brokers LIST] [--raw]',
    load: async () => (await import('./commands/heat.command')).heatCommand,
  },
  deployments: {
    summary: 'deployments list | show | create | settings | runs | approve | reject  (through the API; EPLB_API_URL, EPLB_TOKEN)',
    load: async () => (await import('./commands/deployments.command')).deploymentsCommand,
  },
  rollout: {
    summary: 'rollout status | history | agents | start | pause | resume | abort | promote | undo  (through the API)',
    load: async () => (await import('./commands/rollout.command')).rolloutCommand,
  },
  maps: {
    summary: 'maps list | show | diff | export | import  (map versions through the API)',
    load: async () => (await import('./commands/maps.command')).mapsCommand,
  },
  tokens: {
    summary: 'tokens issue NAME --role ROLE [--deployment ID [--node N]]  (API tokens; agent tokens scoped to a node)',
    load: async () => (await import('./commands/tokens.command')).tokensCommand,
  },
  map: {
    summary: 'map convert --from FORMAT --to FORMAT [--input FILE] [--output FILE] ...',
    load: async () => (await import('./commands/map.command')).mapCommand,
  },
};

export function usage(): string {
  return ['usage: eplb <verb> [options]', ...Object.values(verbs).map((v) => `  eplb ${v.summary}`)].join('\n');
}

export async function runCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const verb = verbs[name];
  if (!verb) {
    process.stderr.write(`eplb: unknown verb "${name}"\n${usage()}\n`);
    return 2;
  }
  try {
    return await (await verb.load())(rest);
  } catch (err) {
    // One line naming what is wrong; the domain's errors already name the field.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`eplb ${name}: ${message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
