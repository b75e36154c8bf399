import { stringify } from 'yaml';
import type { CommandLine, OptionSpecs } from '@eplb/cli';
import { UsageError } from '@eplb/cli';

/**
 * How the API verbs print: a table or summary for people by default, the API's answer with
 * `-o json` (or `--json`) for scripts, or `-o yaml` to read a big answer.
 */
export const OUTPUT_OPTIONS: OptionSpecs = {
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table (default), json (the API\'s answer, for scripts) or yaml' },
  json: { type: 'boolean', help: 'same as -o json' },
};

const FORMATS = ['table', 'json', 'yaml'] as const;

export interface Output {
  /** Prints `value` as JSON or YAML with -o json|yaml, else the lines `human` makes of it. */
  show<T>(value: T, human: (v: T) => string[]): void;
}

export function outputFor(line: CommandLine, write: (text: string) => void = (t) => process.stdout.write(t)): Output {
  const format = line.string('output') ?? (line.flag('json') ? 'json' : 'table');
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`option --output: "${format}" is not a format (${FORMATS.join(', ')})`);
  return {
    show(value, human) {
      if (format === 'json') write(`${JSON.stringify(value, null, 2)}\n`);
      else if (format === 'yaml') write(stringify(value, { lineWidth: 0 }));
      else {
        const lines = human(value);
        write(lines.length ? `${lines.join('\n')}\n` : '');
      }
    },
  };
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(header: string[], rows: (string | number)[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** `2026-11-23 06:00:00Z` from an ISO time; `-` for none. */
export const when = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 19).replace('T', ' ')}Z` : '-');
