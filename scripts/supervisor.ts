import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './infra/kafka';

/** One supervised process: a built entry point under dist/, its arguments and environment. */
export interface ProcessSpec {
  readonly name: string;
  /** Path of the built script, relative to dist/ (e.g. `apps/api/src/main.js`). */
  readonly script: string;
  readonly args?: readonly string[];
  /** V8 flags before the script (an app's own: nodeFlagsOf). */
  readonly nodeFlags?: readonly string[];
  /** Added to the launcher's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Write its stderr to the console too (apps: yes; chatty helpers: log file only). */
  readonly echoStderr?: boolean;
}

const say = (s: string) => process.stdout.write(`[eplb] ${s}\n`);

/**
 * Runs processes, each with its log in `logDir/<name>.log`, restarting one that exits (waiting
 * longer after each exit, up to 30 s) until `stop`, which sends SIGTERM and SIGKILLs whatever has
 * not exited 15 s later.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private readonly restarts = new Map<string, number>();

  constructor(private readonly logDir: string) {}

  start(p: ProcessSpec): void {
    const log = createWriteStream(join(this.logDir, `${p.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', ...(p.nodeFlags ?? []), join(ROOT, 'dist', p.script), ...(p.args ?? [])], {
      cwd: ROOT,
      env: { ...process.env, ...p.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (p.echoStderr !== false) process.stderr.write(`[${p.name}] ${chunk.toString()}`);
    });
    this.children.set(p.name, child);
    child.on('exit', (code, signal) => {
      this.children.delete(p.name);
      if (this.stopping) return;
      const n = (this.restarts.get(p.name) ?? 0) + 1;
      this.restarts.set(p.name, n);
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(n, 5));
      say(`${p.name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000}s (see ${join(this.logDir, `${p.name}.log`)})`);
      setTimeout(() => !this.stopping && this.start(p), delay).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.children.entries()].map(
      ([name, child]) =>
        new Promise<void>((done) => {
          const kill = setTimeout(() => {
            say(`${name} did not stop within 15s: killing it`);
            child.kill('SIGKILL');
          }, 15_000);
          child.once('exit', () => {
            clearTimeout(kill);
            done();
          });
          child.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
