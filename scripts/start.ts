/**
 * `npm start`: infrastructure up (Kafka started if absent, database created, migrations run, Redis
 * checked), then every app as its own process, supervised, and by default the demo cluster
 * (scripts/demo: deployment `demo` in auto mode, its two agents, the simulator publishing heat);
 * prints their URLs when all answer /healthz, then one line per milestone of the demo.
 * `npm start -- --no-demo` (or EPLB_DEMO=0) runs the bare plane. Ctrl-C (SIGINT) or SIGTERM stops
 * the processes cleanly; the broker keeps running for the next start (`npm run infra:down` stops it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KafkaPrincipal } from '@eplb/contracts';
import { AppConfig, DEV_BOOTSTRAP_TOKEN, loadConfig, nodeFlagsOf } from '@eplb/platform';
import { agentHealthPort, DEMO, demoProcesses, demoStateDir, demoWanted } from './demo/demo-cluster';
import { setUpDemo } from './demo/demo-setup';
import { DemoWatch } from './demo/demo-watch';
import { principalEnv, ROOT } from './infra/kafka';
import { infraUp } from './infra/up';
import { ProcessSpec, Supervisor } from './supervisor';

interface AppSpec {
  readonly name: string;
  /** Who it is on a broker with ACLs (KAFKA_SECURITY=scram); the scheduler does not use Kafka. */
  readonly principal?: KafkaPrincipal;
  readonly port: (c: AppConfig) => number;
  readonly what: string;
}

const APPS: AppSpec[] = [
  { name: 'api', principal: 'api', port: (c) => c.API_PORT, what: 'admin + analyst API (OpenAPI at /docs, web console at /console)' },
  { name: 'collector', principal: 'collector', port: (c) => c.COLLECTOR_PORT, what: 'Kafka heat → Postgres' },
  { name: 'scheduler', port: (c) => c.SCHEDULER_PORT, what: 'BullMQ policy jobs' },
  { name: 'rollout', principal: 'rollout', port: (c) => c.ROLLOUT_PORT, what: 'map versions and rollouts' },
  { name: 'agent', principal: 'agent', port: (c) => c.AGENT_PORT, what: 'node agent (device backend)' },
];

const say = (s: string) => process.stdout.write(`[eplb] ${s}\n`);
const START_TIMEOUT_MS = 120_000;

const appProcess = (app: AppSpec, config: AppConfig): ProcessSpec => ({
  name: app.name,
  script: join('apps', app.name, 'src', 'main.js'),
  nodeFlags: nodeFlagsOf(app.name),
  env: app.principal ? principalEnv(config.KAFKA_SECURITY, app.principal) : {},
});

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Waits until every URL answers 200 (or the deadline); the ones still silent. */
async function waitHealthy(urls: Map<string, string>, deadline: number, stopped: () => boolean): Promise<string[]> {
  const pending = new Map(urls);
  while (pending.size > 0 && Date.now() < deadline && !stopped()) {
    for (const [name, url] of [...pending]) if (await healthy(url)) pending.delete(name);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
  return [...pending.keys()];
}

async function main(): Promise<void> {
  const config = loadConfig();
  const demo = demoWanted(process.argv.slice(2), process.env);
  const started = Date.now();
  await infraUp(config, say);
  const logDir = join(ROOT, '.data', 'logs');
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor(logDir);
  let watch: DemoWatch | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    watch?.stop();
    say(`${signal}: stopping the apps…`);
    // a failure to stop stays an unhandled rejection: the process exits with it
    void supervisor.stop().then(() => {
      say('all apps stopped (the Kafka broker keeps running; `npm run infra:down` stops it)');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // with the demo, its agents take the agent app's place (node 0 on AGENT_PORT)
  const apps = demo ? APPS.filter((a) => a.name !== 'agent') : APPS;
  for (const app of apps) supervisor.start(appProcess(app, config));
  const base = (port: number) => `http://${config.HTTP_HOST}:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  const silent = await waitHealthy(new Map(apps.map((a) => [a.name, `${base(a.port(config))}/healthz`])), deadline, () => stopping);
  if (silent.length > 0) return giveUp(supervisor, silent, logDir);

  const lines = apps.map((app) => `  ${app.name.padEnd(14)} ${base(app.port(config)).padEnd(24)} ${app.what}   (/healthz /readyz /metrics)`);
  const operatorToken = config.EPLB_BOOTSTRAP_TOKEN ?? DEV_BOOTSTRAP_TOKEN;
  if (demo) {
    try {
      const api = base(config.API_PORT);
      await waitHealthy(new Map([['api', `${api}/readyz`]]), deadline, () => stopping);
      const stateDir = demoStateDir(ROOT);
      const run = await setUpDemo(api, operatorToken, stateDir, say);
      for (const p of demoProcesses(config, stateDir, run, process.env, (principal) => principalEnv(config.KAFKA_SECURITY, principal))) supervisor.start(p);
      const agents = new Map(Array.from({ length: DEMO.shape.nodes }, (_, n) => [`demo-agent-${n}`, `${base(agentHealthPort(config, n))}/healthz`]));
      const agentsSilent = await waitHealthy(agents, deadline, () => stopping);
      if (agentsSilent.length > 0) return giveUp(supervisor, agentsSilent, logDir);
      for (let n = 0; n < DEMO.shape.nodes; n++) {
        lines.push(`  ${`demo-agent-${n}`.padEnd(14)} ${base(agentHealthPort(config, n)).padEnd(24)} agent of ${DEMO.id} node ${n} (simulated backend, ${DEMO.agentBytesPerSecond / 1e6} MB/s cap)`);
      }
      lines.push(`  ${'demo-simulator'.padEnd(14)} ${'(no HTTP)'.padEnd(24)} heat of ${DEMO.id}: ${DEMO.stepsPerSecond} steps/s, skewed, drifting, alternating; follows the committed maps`);
      watch = new DemoWatch(api, operatorToken, say);
    } catch (err) {
      say(`demo not started: ${(err as Error).message} — the plane runs without it (\`npm start -- --no-demo\` skips it)`);
    }
  }
  if (stopping) return;
  say(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${logDir}`);
  for (const l of lines) say(l);
  say(`  kafka          ${config.KAFKA_BROKERS.join(',')}`);
  if (watch) {
    say(`demo: deployment ${DEMO.id} — milestones follow: heat flowing, first proposal, rollout started, layers committed, imbalance before → after`);
    say(`demo: \`EPLB_TOKEN=${operatorToken === DEV_BOOTSTRAP_TOKEN ? DEV_BOOTSTRAP_TOKEN : '<your EPLB_BOOTSTRAP_TOKEN>'} npm run --silent eplb -- rollout history ${DEMO.id}\` shows its rollouts`);
    watch.start();
  }
  say('Ctrl-C stops the apps.');
}

async function giveUp(supervisor: Supervisor, silent: string[], logDir: string): Promise<void> {
  say(`not answering /healthz after ${START_TIMEOUT_MS / 1000}s: ${silent.join(', ')} (logs in ${logDir})`);
  await supervisor.stop();
  process.exit(1);
}

main().catch((err: unknown) => {
  process.stderr.write(`[eplb] start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
