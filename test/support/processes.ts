import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { nodeFlagsOf } from '@eplb/platform';

export const ROOT = join(__dirname, '..', '..');

/**
 * A built app (dist/apps/<name>/src/main.js) running as its own process: its JSON log lines are
 * kept (stdout), stderr is passed through, and it can be killed with any signal — SIGKILL is what
 * a crash looks like to everyone else.
 */
export class AppProcess {
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private rest = '';

  constructor(
    readonly label: string,
    app: string,
    env: Record<string, string>,
  ) {
    this.proc = spawn(process.execPath, [...nodeFlagsOf(app), join(ROOT, `dist/apps/${app}/src/main.js`)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      const lines = (this.rest + chunk).split('\n');
      this.rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Log lines whose `msg` matches (and whose fields include `where`). */
  logged(msg: string | RegExp, where: Record<string, unknown> = {}): Record<string, unknown>[] {
    return this.logs.filter(
      (l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))) && Object.entries(where).every(([k, v]) => l[k] === v),
    );
  }

  /** Warnings and errors it logged, as `level msg (err)` lines. */
  troubles(): string[] {
    return this.logs
      .filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal' || l.level === 40 || l.level === 50 || l.level === 60)
      .map((l) => `${String(l.level)} ${String(l.msg)}${l.err ? ` (${String(l.err)})` : ''}`);
  }

  /** Sends `signal` and waits for the process to end (SIGKILL after `graceMs` if it does not). */
  stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    return stopProcess(this.proc, signal, graceMs);
  }
}

/** Sends `signal` to `proc` and waits for it to end (SIGKILL after `graceMs` if it does not); at once if it has ended. */
export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** `n` TCP ports free on 127.0.0.1 right now (bound and released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Resolves when GET url answers 2xx. */
export async function httpReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
