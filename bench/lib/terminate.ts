import type { ChildProcess } from 'node:child_process';
import { stopProcess } from '../../test/support/processes';

/**
 * Stops child processes and resolves once every one has exited: SIGTERM, then SIGKILL for any
 * still running after `graceMs`. A bench that returns before its children are gone leaves their
 * ports bound, and the next run's processes fail to listen on them.
 */
export async function terminate(children: readonly ChildProcess[], graceMs = 10_000): Promise<void> {
  await Promise.all(children.map((child) => stopProcess(child, 'SIGTERM', graceMs)));
}

/** The first of `children` that has exited, as `name index (code or signal)`; null while all run. */
export function firstExited(children: readonly ChildProcess[], name: string): string | null {
  const k = children.findIndex((c) => c.exitCode !== null || c.signalCode !== null);
  return k < 0 ? null : `${name} ${k} (${children[k].exitCode ?? children[k].signalCode})`;
}
