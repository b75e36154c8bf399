import { CommandLine, formatHelp, OptionSpecs, parseCommandLine, UsageError } from '@eplb/cli';

/** One verb of a command group (`eplb rollout start`): its arguments, options, help and action. */
export interface Verb<C> {
  /** The words after the verb, for usage: `ID --to VERSION`. */
  readonly args: string;
  readonly summary: string;
  readonly options?: OptionSpecs;
  readonly examples: readonly string[];
  /** The verb prints a file's own text (or writes it), not a view of an answer: it takes no -o. */
  readonly rawOutput?: boolean;
  /** Does the verb's work; returns an exit code, or nothing for 0. Failures throw. */
  readonly run: (line: CommandLine, ctx: C) => Promise<number | void>;
}

/** A noun of the CLI (`eplb rollout …`) and its verbs, with the options every verb takes. */
export interface CommandGroup<C> {
  readonly name: string;
  readonly summary: string;
  readonly verbs: Readonly<Record<string, Verb<C>>>;
  readonly common?: OptionSpecs;
  readonly notes?: readonly string[];
}

const HELP: OptionSpecs = { help: { type: 'boolean', short: 'h', help: 'show this help' } };
const isHelp = (word: string | undefined) => word === '--help' || word === '-h' || word === 'help';

export function groupHelp<C>(g: CommandGroup<C>): string {
  const width = Math.max(...Object.keys(g.verbs).map((v) => v.length));
  return formatHelp({
    usage: [`eplb ${g.name} <verb> [options]`],
    summary: [g.summary, '', 'verbs:', ...Object.entries(g.verbs).map(([name, v]) => `  ${name.padEnd(width)}  ${v.summary}`)].join('\n'),
    examples: Object.values(g.verbs).slice(0, 3).map((v) => v.examples[0]),
    notes: [`Run "eplb ${g.name} <verb> --help" for a verb's options.`, ...(g.notes ?? [])],
  });
}

/** What a verb accepts: its own options, the group's (unless it prints raw text), and --help. */
const optionsOf = <C>(g: CommandGroup<C>, v: Verb<C>): OptionSpecs => ({ ...v.options, ...(v.rawOutput ? {} : g.common), ...HELP });

export function verbHelp<C>(g: CommandGroup<C>, name: string, v: Verb<C>): string {
  return formatHelp({ usage: [`eplb ${g.name} ${name} ${v.args}`.trimEnd()], summary: v.summary, options: optionsOf(g, v), examples: v.examples, notes: g.notes });
}

/**
 * Runs `argv` (the words after the group's name) as one of the group's verbs: `--help` at either
 * level prints help (exit 0); anything the verb does not declare is a UsageError.
 */
export async function runGroup<C>(g: CommandGroup<C>, argv: readonly string[], stdout: (text: string) => void, context: (line: CommandLine, verb: Verb<C>) => C): Promise<number> {
  const [name, ...rest] = argv;
  if (isHelp(name)) {
    stdout(groupHelp(g));
    return 0;
  }
  if (name === undefined) throw new UsageError(`missing verb (${Object.keys(g.verbs).join(', ')}); see eplb ${g.name} --help`);
  const verb = Object.hasOwn(g.verbs, name) ? g.verbs[name] : undefined;
  if (!verb) throw new UsageError(`unknown subcommand "${name}" (expected: ${Object.keys(g.verbs).join(', ')})`);
  const line = parseCommandLine(rest, optionsOf(g, verb));
  if (line.flag('help')) {
    stdout(verbHelp(g, name, verb));
    return 0;
  }
  return (await verb.run(line, context(line, verb))) ?? 0;
}

/** The positional argument at `i`, required. */
export function positional(line: CommandLine, i: number, what: string): string {
  const v = line.positionals[i];
  if (v === undefined || v === '') throw new UsageError(`missing ${what}`);
  return v;
}

/** No positional arguments beyond the first `n`. */
export function noMoreArguments(line: CommandLine, n: number, hint = ''): void {
  const extra = line.positionals[n];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"${hint ? ` (${hint})` : ''}`);
}
