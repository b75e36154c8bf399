import { readFileSync } from 'node:fs';

/**
 * How many times a process's main thread has been woken so far: its voluntary context switches
 * (/proc/PID/task/PID/status), each one a sleep in the event loop's poll ended by a message, a
 * timer or a finished job. Node's helper threads (libuv pool, V8 platform) are other tasks and
 * not counted. 0 where /proc is not there (the figure is then absent, not wrong).
 */
export function processWakeups(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
    const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
