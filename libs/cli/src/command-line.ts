import { parseArgs } from 'node:util';
import { UsageError } from './usage-error';

/** One option of a command: a value (`--to 4`, `--to=4`) or a flag (`--hold`). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** One-letter alias, e.g. `o` for `-o json`. */
  readonly short?: string;
  /** What the value is, for help: `--to VERSION`. */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A parsed command line: options by name, and the words that are not options, in order. */
export interface CommandLine {
  readonly positionals: readonly string[];
  /** The option's value; undefined when not given. Names must be declared. */
  string(name: string): string | undefined;
  /** Whether the flag was given. */
  flag(name: string): boolean;
  has(name: string): boolean;
}

/**
 * Parses `argv` against the declared options (node:util parseArgs, strict): an unknown option,
 * a flag given a value or a value option given none is a UsageError naming the option, so a typo
 * never silently changes what a command does.
 */
export function parseCommandLine(argv: readonly string[], options: OptionSpecs): CommandLine {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
  const { values, positionals } = parsed;
  for (const [name, v] of Object.entries(values)) {
    if (v === '') throw new UsageError(`option --${name} needs a value`);
  }
  const declared = (name: string) => {
    if (!(name in options)) throw new Error(`option --${name} is not declared for this command`);
  };
  return {
    positionals,
    string(name) {
      declared(name);
      const v = values[name];
      return typeof v === 'string' ? v : undefined;
    },
    flag(name) {
      declared(name);
      return values[name] === true;
    },
    has(name) {
      declared(name);
      return values[name] !== undefined;
    },
  };
}

/** The value of an option the command cannot do without. */
export function requiredOption(line: CommandLine, name: string): string {
  const v = line.string(name);
  if (v === undefined) throw new UsageError(`missing required option --${name}`);
  return v;
}

/** parseArgs' messages, said the way our commands say them. */
function describeParseError(err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message)) return `option ${option} takes no value`;
      if (/ambiguous/.test(message)) return `option ${option} needs a value (write ${option}=-X for one starting with a dash)`;
      return `option ${option} needs a value`;
    default:
      return message;
  }
}
