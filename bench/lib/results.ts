import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = join(__dirname, '..', 'RESULTS.md');

/** Replaces (or appends) one `## heading` section of bench/RESULTS.md; other sections are left alone. */
export function writeSection(heading: string, body: string): void {
  const text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmark results\n';
  const marker = `## ${heading}`;
  const start = text.indexOf(marker);
  const section = `${marker}\n\n${body.trim()}\n`;
  if (start < 0) {
    writeFileSync(FILE, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  const next = text.indexOf('\n## ', start + marker.length);
  writeFileSync(FILE, `${text.slice(0, start)}${section}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`);
}

/** Writes one `## heading` section as the LAST of bench/RESULTS.md (removed from where it was): for figures whose last line scripts read. */
export function writeFinalSection(heading: string, body: string): void {
  const text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmark results\n';
  const marker = `## ${heading}`;
  const start = text.indexOf(marker);
  let rest = text;
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + marker.length);
    rest = `${text.slice(0, start)}${next < 0 ? '' : text.slice(next + 1)}`;
  }
  writeFileSync(FILE, `${rest.trimEnd()}\n\n${marker}\n\n${body.trim()}\n`);
}
