import type { CommandLine, OptionSpecs } from '@eplb/cli';
import { UsageError } from '@eplb/cli';

/**
 * How the API verbs print: a table or summary for people by default, the API's JSON with
 * `-o json` (or `--json`) for scripts.
 */
export const OUTPUT_OPTIONS: OptionSpecs = {
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table (default) or json (the API\'s answer, for scripts)' },
  json: { type: 'boolean', help: 'same as -o json' },
};

export interface Output {
  readonly json: boolean;
  /** Prints `value` as JSON with -o json, else the lines `human` makes of it. */
  show<T>(value: T, human: (v: T) => string[]): void;
}

export function outputFor(line: CommandLine, write: (text: string) => void = (t) => process.stdout.write(t)): Output {
  const format = line.string('output') ?? (line.flag('json') ? 'json' : 'table');
  if (format !== 'table' && format !== 'json') throw new UsageError(`option --output: "${format}" is not a format (table, json)`);
  const json = format === 'json';
  return {
    json,
    show(value, human) {
      if (json) write(`${JSON.stringify(value, null, 2)}\n`);
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
