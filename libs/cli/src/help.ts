import type { OptionSpecs } from './command-line';

/** What `--help` prints for one command: usage lines, what it does, its options, examples. */
export interface HelpText {
  readonly usage: readonly string[];
  readonly summary?: string;
  readonly options?: OptionSpecs;
  readonly examples?: readonly string[];
  /** Further paragraphs (environment, exit codes). */
  readonly notes?: readonly string[];
}

export function formatHelp(h: HelpText): string {
  const lines = h.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${u}`);
  if (h.summary) lines.push('', h.summary);
  const opts = Object.entries(h.options ?? {});
  if (opts.length) {
    const names = opts.map(([name, o]) => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`);
    const width = Math.max(...names.map((n) => n.length));
    lines.push('', 'options:', ...opts.map(([, o], i) => `  ${names[i].padEnd(width)}  ${o.help}`));
  }
  if (h.examples?.length) lines.push('', h.examples.length > 1 ? 'examples:' : 'example:', ...h.examples.map((e) => `  ${e}`));
  for (const note of h.notes ?? []) lines.push('', note);
  return `${lines.join('\n')}\n`;
}
