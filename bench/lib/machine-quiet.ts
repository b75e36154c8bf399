import { readFileSync } from 'node:fs';

/** Busy and total jiffies of all cores together, from /proc/stat; null where /proc is not there. */
function cpuJiffies(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = user + nice + system + idle + iowait + irq + softirq + steal;
    return { busy: total - idle - iowait, total };
  } catch {
    return null;
  }
}

export interface QuietWait {
  /** How long it waited (ms). */
  readonly waitedMs: number;
  /** False when the machine stayed busy until the timeout (another tenant's work, not the bench's own). */
  readonly quiet: boolean;
  /** Cores busy over the last window looked at. */
  readonly busyCores: number;
}

/**
 * Waits until the whole machine is quiet: fewer than `busyCoresBelow` cores busy over a window of
 * `windowMs`, for at most `timeoutMs`. A measured block must not share the cores with what the
 * block before it left running — a process that just went idle finishes its garbage collection
 * (concurrent marking, sweeping) on its own threads for a second or more after, and eight of them
 * doing it at once take a core from whatever is measured next.
 */
export async function waitForQuiet({ busyCoresBelow = 0.3, windowMs = 200, timeoutMs = 5_000 } = {}): Promise<QuietWait> {
  const started = Date.now();
  let busyCores = 0;
  for (;;) {
    const from = cpuJiffies();
    await new Promise((r) => setTimeout(r, windowMs));
    const to = cpuJiffies();
    if (!from || !to) return { waitedMs: Date.now() - started, quiet: true, busyCores: 0 };
    const cores = (to.total - from.total) / ((windowMs / 1000) * 100);
    busyCores = cores > 0 ? ((to.busy - from.busy) / (to.total - from.total)) * cores : 0;
    if (busyCores < busyCoresBelow) return { waitedMs: Date.now() - started, quiet: true, busyCores };
    if (Date.now() - started >= timeoutMs) return { waitedMs: Date.now() - started, quiet: false, busyCores };
  }
}
