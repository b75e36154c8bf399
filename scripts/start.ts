/**
 * `npm start`: infrastructure up (Kafka started if absent, database created, migrations run, Redis
 * checked), then every app as its own process, supervised; prints their URLs when all answer
 * /healthz. Ctrl-C (SIGINT) or SIGTERM stops the apps cleanly; the broker keeps running for the
 * next start (`npm run infra:down` stops it).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig, loadConfig } from '@eplb/platform';
import { ROOT } from './infra/kafka';
import { infraUp } from './infra/up';

interface AppSpec {
  readonly name: string;
  readonly port: (c: AppConfig) => number;
  readonly what: string;
}

const APPS: AppSpec[] = [
  { name: 'api', port: (c) => c.API_PORT, what: 'admin + analyst API (OpenAPI at /docs)' },
  { name: 'collector', port: (c) => c.COLLECTOR_PORT, what: 'Kafka heat → Postgres' },
  { name: 'scheduler', port: (c) => c.SCHEDULER_PORT, what: 'BullMQ policy jobs' },
  { name: 'rollout', port: (c) => c.ROLLOUT_PORT, what: 'map versions and rollouts' },
  { name: 'agent', port: (c) => c.AGENT_PORT, what: 'node agent (device backend)' },
];

const say = (s: string) => process.stdout.write(`[eplb] ${s}\n`);
const START_TIMEOUT_MS = 120_000;

class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private readonly restarts = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly logDir: string,
  ) {}

  start(app: AppSpec): void {
    const log = createWriteStream(join(this.logDir, `${app.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', join(ROOT, 'dist', 'apps', app.name, 'src', 'main.js')], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      process.stderr.write(`[${app.name}] ${chunk.toString()}`);
    });
    this.children.set(app.name, child);
    child.on('exit', (code, signal) => {
      this.children.delete(app.name);
      if (this.stopping) return;
      const n = (this.restarts.get(app.name) ?? 0) + 1;
      this.restarts.set(app.name, n);
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(n, 5));
      say(`${app.name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000}s (see ${join(this.logDir, `${app.name}.log`)})`);
      setTimeout(() => !this.stopping && this.start(app), delay).unref();
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

  port(app: AppSpec): number {
    return app.port(this.config);
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const started = Date.now();
  await infraUp(config, say);
  const logDir = join(ROOT, '.data', 'logs');
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor(config, logDir);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping the apps…`);
    // a failure to stop stays an unhandled rejection: the process exits with it
    void supervisor.stop().then(() => {
      say('all apps stopped (the Kafka broker keeps running; `npm run infra:down` stops it)');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  for (const app of APPS) supervisor.start(app);
  const base = (app: AppSpec) => `http://${config.HTTP_HOST}:${supervisor.port(app)}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  const pending = new Set(APPS);
  while (pending.size > 0 && Date.now() < deadline && !stopping) {
    for (const app of [...pending]) if (await healthy(`${base(app)}/healthz`)) pending.delete(app);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
  if (pending.size > 0) {
    say(`not answering /healthz after ${START_TIMEOUT_MS / 1000}s: ${[...pending].map((a) => a.name).join(', ')} (logs in ${logDir})`);
    await supervisor.stop();
    process.exit(1);
  }
  say(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${logDir}`);
  for (const app of APPS) say(`  ${app.name.padEnd(10)} ${base(app).padEnd(24)} ${app.what}   (/healthz /readyz /metrics)`);
  say(`  kafka      ${config.KAFKA_BROKERS.join(',')}`);
  say('Ctrl-C stops the apps.');
}

main().catch((err: unknown) => {
  process.stderr.write(`[eplb] start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
