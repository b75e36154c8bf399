/**
 * `npm run bench:loop`: the closed loop on the `npm start` demo (DESIGN.md target: the demo
 * cluster's measured imbalance falls by ≥ 30% of its excess over 1.0 within 5 minutes, by
 * automatic rollouts alone). Starts the built launcher as `npm start` runs it — on its own
 * database (dropped first: the demo starts from its initial map), Redis database, ports and demo
 * state directory — and watches through the API, never acting on the deployment:
 * - before: the collector's mean per-episode imbalance (max/mean rank load, mean over layers) of
 *   every episode stored before the first rollout started;
 * - now: the same over the episodes of the last 60 s;
 * - first gain: the first time `now` is below `before` by 10% of the excess; target: by 30%.
 * Stops 60 s after reaching the target (it must hold while heat drifts) or after 5 minutes.
 * Writes bench/RESULTS.md (its section last); the last line is one JSON object.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { DEV_BOOTSTRAP_TOKEN, loadConfig } from '@eplb/platform';
import { machine } from './lib/machine';
import { writeFinalSection } from './lib/results';

const RUN_MS = Number(process.env.LOOP_BENCH_MS ?? 300_000);
const HOLD_MS = 60_000;
const WINDOW_MS = 60_000;
const PORTS = { API_PORT: '3300', COLLECTOR_PORT: '3301', SCHEDULER_PORT: '3302', ROLLOUT_PORT: '3303', AGENT_PORT: '3304' };
const API = `http://127.0.0.1:${PORTS.API_PORT}`;
const TOKEN = process.env.EPLB_BOOTSTRAP_TOKEN ?? DEV_BOOTSTRAP_TOKEN;
const DB = 'eplb_bench_loop';

interface Episode {
  readonly startedAt: string;
  readonly imbalance: number[];
}
interface Rollout {
  readonly rolloutId: string;
  readonly requestedBy: string;
  readonly status: string;
  readonly startedAt: string | null;
}

const get = async (path: string): Promise<any> => {
  const r = await fetch(`${API}${path}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
};
const meanOf = (eps: readonly Episode[]): number => {
  let s = 0;
  let n = 0;
  for (const e of eps) for (const v of e.imbalance) (s += v), n++;
  return n ? s / n : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Episodes since `fromMs`, paged (the API's range is by start time). */
async function episodesSince(fromMs: number): Promise<Episode[]> {
  const out: Episode[] = [];
  let after: number | null = null;
  for (;;) {
    const page = await get(`/v1/deployments/demo/heat/episodes?from=${encodeURIComponent(new Date(fromMs).toISOString())}&limit=500${after === null ? '' : `&afterEpisode=${after}`}`);
    out.push(...page.items);
    if (page.nextAfterEpisode === null) return out;
    after = page.nextAfterEpisode;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const admin = new Client({ connectionString: config.DATABASE_URL.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
  const redisUrl = new URL(config.REDIS_URL);
  redisUrl.pathname = '/6';
  const redis = new Redis(redisUrl.toString());
  await redis.flushdb();
  redis.disconnect();
  const stateDir = mkdtempSync(join(tmpdir(), 'eplb-bench-loop-'));
  const databaseUrl = config.DATABASE_URL.replace(/\/[^/]*$/, `/${DB}`);

  const t0 = Date.now();
  let output = '';
  const launcher: ChildProcess = spawn(process.execPath, [join(__dirname, '..', 'dist', 'scripts', 'start.js')], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, ...PORTS, ROLLOUT_CONTROL_PORT: '3773', DATABASE_URL: databaseUrl, REDIS_URL: redisUrl.toString(), EPLB_DEMO_STATE_DIR: stateDir, KAFKA_GROUP_PREFIX: `eplb-bench-loop-${Date.now()}`, COLLECTOR_START_FROM: 'latest' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launcher.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
    for (const l of c.toString().split('\n')) if (l.startsWith('[eplb] demo') || l.includes('stack up')) process.stderr.write(`${l}\n`);
  });
  launcher.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => launcher.once('exit', (code) => done(code)));

  try {
    while (!output.includes('stack up in')) {
      if (launcher.exitCode !== null) throw new Error(`the launcher exited:\n${output}`);
      if (Date.now() - t0 > 240_000) throw new Error(`the stack did not come up:\n${output}`);
      await sleep(500);
    }
    // a demo that did not start has nothing to measure: say why instead of writing empty figures
    const refused = /demo not started: .*/.exec(output);
    if (refused) throw new Error(refused[0]);
    const up = Date.now();
    let firstRolloutAt: number | null = null;
    let before: number | null = null;
    let firstGainAt: number | null = null;
    let targetAt: number | null = null;
    let now = NaN;
    let rollouts: Rollout[] = [];
    const trace: string[] = [];
    while (Date.now() - up < RUN_MS && !(targetAt !== null && Date.now() - targetAt >= HOLD_MS)) {
      await sleep(2000);
      try {
        rollouts = (await get('/v1/deployments/demo/rollouts')).items;
        const started = rollouts.map((r) => (r.startedAt ? Date.parse(r.startedAt) : Infinity)).reduce((a, b) => Math.min(a, b), Infinity);
        if (firstRolloutAt === null && Number.isFinite(started)) {
          firstRolloutAt = started;
          before = meanOf((await episodesSince(up - 60_000)).filter((e) => Date.parse(e.startedAt) < started));
        }
        now = meanOf(await episodesSince(Date.now() - WINDOW_MS));
        if (before !== null && Number.isFinite(now)) {
          const removed = (before - now) / (before - 1);
          if (firstGainAt === null && removed >= 0.1) firstGainAt = Date.now();
          if (removed >= 0.3) targetAt ??= Date.now();
          else targetAt = null;
        }
        trace.push(`${((Date.now() - up) / 1000).toFixed(0)}s ${Number.isFinite(now) ? now.toFixed(3) : '-'}`);
      } catch {
        /* the API is busy or restarting: next poll */
      }
    }
    const automatic = rollouts.filter((r) => r.startedAt && !r.requestedBy.startsWith('operator:'));
    const result = {
      imbalance_before: before === null ? null : Number(before.toFixed(4)),
      imbalance_after: Number.isFinite(now) ? Number(now.toFixed(4)) : null,
      seconds_to_first_gain: firstGainAt === null ? null : Math.round((firstGainAt - up) / 1000),
      auto_rollouts: automatic.length,
      rolled_back: rollouts.filter((r) => r.status === 'ROLLED_BACK').length,
    };
    const removed = before !== null && Number.isFinite(now) ? (before - now) / (before - 1) : null;
    writeFinalSection(
      'Closed loop (`npm run bench:loop`)',
      [
        `Machine: ${machine()}. The \`npm start\` demo (16 layers × 64 experts, 2 nodes × 4 ranks × 10 slots, skewed heat with alternating and drifting hot sets, auto mode), watched through the API for up to ${RUN_MS / 60_000} minutes from "stack up".`,
        'Imbalance: the collector\'s mean per-episode max/mean rank load, mean over layers; before = every episode before the first rollout started, after = the episodes of the last 60 s. First gain: 10% of the excess over 1 removed; target (DESIGN.md): 30%, held 60 s.',
        '',
        '| figure | value |',
        '|---|---|',
        `| imbalance before | ${result.imbalance_before ?? 'no rollout started'} |`,
        `| imbalance after | ${result.imbalance_after ?? '-'} |`,
        `| excess removed | ${removed === null ? '-' : `${Math.round(removed * 100)}%`} (target ≥ 30%) |`,
        `| seconds to first gain | ${result.seconds_to_first_gain ?? 'none'} |`,
        `| seconds to target | ${targetAt === null ? 'not reached' : Math.round((targetAt - up) / 1000)} |`,
        `| automatic rollouts | ${result.auto_rollouts} (all rollouts: ${rollouts.length}) |`,
        `| rolled back | ${result.rolled_back} |`,
        '',
        `Measured imbalance every poll: ${trace.filter((_, i) => i % 5 === 0).join(', ')}.`,
        '',
        JSON.stringify(result),
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    launcher.kill('SIGINT');
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
    if (code === 'timeout') launcher.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:loop failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
