/**
 * Human-readable output shared by the API verbs: aligned tables, sizes, times. Each verb prints
 * this by default and the API's JSON with `--json`, for scripts.
 */
export const printJson = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
};

export const printLines = (lines: string[]): void => {
  process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
};

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
