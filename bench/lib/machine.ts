import { cpus } from 'node:os';

/** One line naming the machine a figure was measured on. */
export function machine(): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), node ${process.version}, ${new Date().toISOString()}`;
}
