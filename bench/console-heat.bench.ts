/**
 * `npm run bench:console`: the web console's heat page for a DeepSeek-V3 deployment (58 layers ×
 * 256 experts) over a day of heat at minute resolution (and its hour rollups), seeded straight
 * into Postgres, served by the real API process (`dist/`, the console in `dist/console`) and
 * opened in headless Chromium. The figure is the browser's own: the User Timing mark the console
 * sets when the layers × experts heatmap is on the canvas (`eplb:heatmap-drawn`), in ms since the
 * navigation started — its first meaningful paint. Target: ≤ 1 s.
 *
 * Wall times move with the machine's load, so beside them the bench reports figures that do not:
 * the bytes of script the page fetched before its first paint, and, from separate traced runs,
 * the CPU time the renderer's main thread spent (thread time of its top-level tasks) from the
 * navigation to the mark.
 *
 * The database is DATABASE_URL's (run it against a database of your own). CONSOLE_BENCH_DIR=<dir>
 * serves another build of the console (e.g. an older commit's, for a comparison in the same
 * conditions); CONSOLE_BENCH_TRACE=<file> keeps the last traced load's trace.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createDataSource } from '@eplb/persistence';
import { DEV_BOOTSTRAP_TOKEN, loadConfig } from '@eplb/platform';
import { infraUp } from '../scripts/infra/up';
import { createHeatDeployment, DSV3_SHAPE, seedHeatDay } from './lib/heat-day';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const MINUTES = 1440;
const PORT = 3904;
const RUNS = 9;
const WARMUPS = 2;
/** Runs under Chromium's tracing (for main-thread CPU time): apart from the timed runs, whose wall times tracing would add to. */
const TRACED_RUNS = 5;
const TARGET_MS = 1000;
const CHROMIUM = '/usr/bin/chromium';
const MARK = 'eplb:heatmap-drawn';
/**
 * Runs in the page (a string: this program has no DOM types): the mark, first contentful paint,
 * DOMContentLoaded, and the Resource Timing of the layers × experts heatmap and top-k requests.
 */
const READ_TIMINGS = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const resources = performance.getEntriesByType('resource');
  const heatmap = resources.find((r) => /\\/heat\\/heatmap\\?(?!.*layer=)/.test(r.name));
  const top = resources.find((r) => r.name.includes('/heat/top?'));
  return {
    fmp: performance.getEntriesByName(${JSON.stringify(MARK)})[0].startTime,
    fcp: fcp ? fcp.startTime : null,
    domContentLoaded: nav.domContentLoadedEventEnd,
    document: { requestStart: nav.requestStart, responseStart: nav.responseStart, responseEnd: nav.responseEnd },
    heatmapRequest: heatmap ? { start: heatmap.startTime, end: heatmap.responseEnd, bytes: heatmap.decodedBodySize } : null,
    topRequest: top ? { start: top.startTime, end: top.responseEnd } : null,
    scripts: resources.filter((r) => /\.js$/.test(r.name) && r.startTime < performance.getEntriesByName(${JSON.stringify(MARK)})[0].startTime)
      .reduce((sum, r) => ({ files: sum.files + 1, bytes: sum.bytes + r.decodedBodySize }), { files: 0, bytes: 0 }),
  };
})()`;
const log = (s: string) => process.stderr.write(`[bench:console] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  fmp: number;
  fcp: number | null;
  domContentLoaded: number;
  /** The page's own request (ms since navigation start): what precedes any script. */
  document: { requestStart: number; responseStart: number; responseEnd: number };
  heatmapRequest: { start: number; end: number; bytes: number } | null;
  topRequest: { start: number; end: number } | null;
  /** The scripts fetched before the mark: how many, and their bytes (uncompressed). */
  scripts: { files: number; bytes: number };
}

/** Main-thread CPU of one traced load, in ms: every top-level task up to the mark, and the JavaScript run within them. */
interface MainThread {
  task: number;
  script: number;
}

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * The renderer main thread's CPU from a Chromium trace: thread time (tdur: on the CPU, not
 * waiting for it, so a loaded machine inflates it little) of its top-level tasks that began
 * before the mark, and of the JavaScript run within them (the drawing it calls included).
 */
function mainThreadCpu(trace: Buffer): MainThread {
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
  const mark = events.find((e) => e.name === MARK && e.cat.includes('blink.user_timing'));
  if (!mark) throw new Error('the trace holds no heatmap mark');
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === mark.pid && e.args?.name === 'CrRendererMain');
  if (!main) throw new Error('the trace names no renderer main thread');
  const onMain = events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.ts <= mark.ts).sort((a, b) => a.ts - b.ts);
  // the outermost of these events only: a task's slices nest (RunTask holds ThreadControllerImpl::RunTask, a call holds calls)
  const sum = (names: readonly string[]) => {
    let total = 0;
    let until = -Infinity;
    for (const e of onMain) {
      if (!names.includes(e.name) || e.ts < until) continue;
      total += e.tdur ?? e.dur ?? 0;
      until = e.ts + (e.dur ?? 0);
    }
    return total / 1000;
  };
  return { task: sum(['RunTask', 'ThreadControllerImpl::RunTask']), script: sum(['EvaluateScript', 'v8.compileModule', 'v8.evaluateModule', 'FunctionCall', 'v8.callFunction', 'TimerFire', 'FireAnimationFrame', 'BlinkScheduler_PerformMicrotaskCheckpoint']) };
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  await infraUp(config, log);
  const ds = createDataSource(config.DATABASE_URL, 'eplb-bench-console');
  await ds.initialize();
  const deployment = await createHeatDeployment(ds, 'bench-console', 'console heat page benchmark');

  const t0 = Date.now();
  await seedHeatDay(ds, deployment, DSV3_SHAPE, MINUTES);
  const [{ rows, bytes }] = await ds.query(`SELECT count(*)::int AS rows, sum(pg_column_size(heat_rollups.*))::bigint AS bytes FROM heat_rollups WHERE deployment_id = $1`, [deployment]);
  log(`seeded ${rows} rollup rows (${(Number(bytes) / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const api: ChildProcess = spawn(process.execPath, [join(__dirname, '..', 'dist/apps/api/src/main.js')], {
    env: { ...process.env, API_PORT: String(PORT), LOG_LEVEL: 'warn', CONSOLE_DIR: process.env.CONSOLE_BENCH_DIR ?? join(__dirname, '..', 'dist/console') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const runs: Run[] = [];
  const cpus: MainThread[] = [];
  const loadBefore = loadavg()[0];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  try {
    while (!(await fetch(`http://127.0.0.1:${PORT}/readyz`).then((r) => r.ok, () => false))) await sleep(200);
    const url = `http://127.0.0.1:${PORT}/console/deployments/${deployment}/heat?range=24h&phase=decode`;
    // one tab for every load, its cache disabled: each load fetches everything as on a first visit,
    // and the session is already in the tab, as after sign-in. Not a new context (window) per load:
    // Chromium starts its own browser UI (the omnibox popup's WebUI renderer, ~0.3 s of CPU) for
    // every new window, which on two cores competes with the page being measured.
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addInitScript(`window.sessionStorage.setItem('eplb.console.session', ${JSON.stringify(JSON.stringify({ token: DEV_BOOTSTRAP_TOKEN, name: 'bench', role: 'operator' }))})`);
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    /** One load of the heat page: its timings, and with `traced` its main thread's CPU. */
    const load = async (traced: boolean): Promise<{ run: Run; cpu: MainThread | null }> => {
      errors.length = 0;
      if (traced) await browser.startTracing(page, { categories: ['toplevel', 'blink.user_timing', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8'] });
      await page.goto(url);
      try {
        await page.waitForFunction(`performance.getEntriesByName(${JSON.stringify(MARK)}).length > 0`);
      } catch (err) {
        const shown = (await page.evaluate('document.body.innerText')) as string;
        throw new Error(`no heatmap drawn: ${String(err)}\npage: ${shown.slice(0, 600)}\nerrors: ${errors.join('\n')}`);
      }
      const trace = traced ? await browser.stopTracing() : null;
      // CONSOLE_BENCH_TRACE=<file>: the last traced load's trace, for chrome://tracing or Perfetto
      if (trace && process.env.CONSOLE_BENCH_TRACE) writeFileSync(process.env.CONSOLE_BENCH_TRACE, trace);
      const cpu = trace ? mainThreadCpu(trace) : null;
      const run = (await page.evaluate(READ_TIMINGS)) as Run;
      const hottest = await page.getByTestId('hottest').getAttribute('data-layer');
      if (hottest === null) throw new Error('the heat page named no hottest cell');
      return { run, cpu };
    };
    /**
     * Between loads: leave the page, then wait until the API answers at once again. The page goes on
     * reading (per-rank load, trends, the live stream) after its heatmap is drawn, and the API folds
     * those reads on its event loop: a navigation made at the mark waited up to 1.4 s behind them for
     * its own 3 kB document. Each load starts as a fresh visit does, on an API with nothing in flight.
     */
    const settle = async () => {
      await page.goto('about:blank');
      for (let quick = 0; quick < 3; ) {
        const t0 = performance.now();
        await fetch(`http://127.0.0.1:${PORT}/readyz`);
        quick = performance.now() - t0 < 25 ? quick + 1 : 0;
      }
    };
    for (let i = 0; i < WARMUPS + RUNS; i++) {
      await settle();
      const { run } = await load(false);
      if (i >= WARMUPS) runs.push(run);
      log(`run ${i + 1 - WARMUPS}: first meaningful paint ${run.fmp.toFixed(0)} ms (document ${run.document.requestStart.toFixed(0)}–${run.document.responseEnd.toFixed(0)} ms, DOMContentLoaded ${run.domContentLoaded.toFixed(0)} ms, heatmap request ${run.heatmapRequest?.start.toFixed(0)}–${run.heatmapRequest?.end.toFixed(0)} ms, ${run.scripts.files} scripts, ${(run.scripts.bytes / 1000).toFixed(0)} kB)`);
    }
    for (let i = 0; i < TRACED_RUNS; i++) {
      await settle();
      const { cpu } = await load(true);
      cpus.push(cpu!);
      log(`traced run ${i + 1}: main thread ${cpu!.task.toFixed(0)} ms of tasks, ${cpu!.script.toFixed(0)} ms of script, up to the mark`);
    }
  } finally {
    await browser.close();
    api.kill('SIGTERM');
    if (!process.env.CONSOLE_BENCH_KEEP) await ds.query(`DELETE FROM heat_rollups WHERE deployment_id = $1`, [deployment]);
    await ds.destroy();
  }
  const loadAfter = loadavg()[0];

  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
  const fmp = runs.map((r) => r.fmp);
  const fcp = runs.flatMap((r) => (r.fcp === null ? [] : [r.fcp]));
  const dcl = runs.map((r) => r.domContentLoaded);
  const req = runs.flatMap((r) => (r.heatmapRequest ? [r.heatmapRequest.end - r.heatmapRequest.start] : []));
  const reqStart = runs.flatMap((r) => (r.heatmapRequest ? [r.heatmapRequest.start] : []));
  const afterResponse = runs.flatMap((r) => (r.heatmapRequest ? [r.fmp - r.heatmapRequest.end] : []));
  const row = (name: string, xs: number[]) => `| ${name} | ${median(xs).toFixed(0)} | ${sorted(xs)[0].toFixed(0)} | ${sorted(xs).at(-1)!.toFixed(0)} |`;
  const scriptKb = runs.map((r) => r.scripts.bytes / 1000);
  const met = median(fmp) <= TARGET_MS;
  writeSection(
    'Console heat page: first meaningful paint (`npm run bench:console`)',
    `Command: \`DATABASE_URL=postgres://postgres@127.0.0.1:5432/<your database> npm run bench:console\` (bench/console-heat.bench.ts). Machine: ${machine()}; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (1 min).
One DeepSeek-V3 deployment (58 layers × 256 experts, 32 ranks × 9 slots) with a day of decode heat at minute
resolution and its hour rollups (${rows} rollup rows, ${(Number(bytes) / 1e6).toFixed(0)} MB), seeded into Postgres. The real API process serves the built
console; headless Chromium (Debian's) opens \`/console/deployments/<id>/heat?range=24h\` in one tab with its cache disabled
(every load fetches everything, the session already in the tab), ${RUNS} runs after ${WARMUPS} warm-ups. Figures are the browser's own timings in ms since
navigation start: the console's User Timing mark \`${MARK}\` (set once the 58 × 256 cells are on the heatmap's canvas,
the page's first meaningful paint), first contentful paint, DOMContentLoaded, and the Resource Timing of the heatmap request
(the API sums the day's ${24 + 1} hour rollups: minutes × layers × experts would exceed its read budget).

| figure | median | min | max |
|---|---:|---:|---:|
${row('first meaningful paint (heatmap drawn)', fmp)}
${fcp.length ? row('first contentful paint', fcp) : '| first contentful paint | n/a | | |'}
${row('DOMContentLoaded', dcl)}
${row('heatmap request start', reqStart)}
${row('heatmap request duration', req)}
${row('from heatmap response to drawn', afterResponse)}

Figures that the machine's load moves little: the script the page fetched before the mark, ${median(runs.map((r) => r.scripts.files))} files and
**${median(scriptKb).toFixed(0)} kB** (uncompressed; median); and, over ${TRACED_RUNS} further runs under Chromium's tracing, the renderer main
thread's CPU time (thread time, not wall time) from the navigation to the mark:

| main thread, up to the mark | median | min | max |
|---|---:|---:|---:|
${row('top-level tasks (ms of CPU)', cpus.map((c) => c.task))}
${row('JavaScript: evaluation, calls, timers, frames, microtasks (ms of CPU)', cpus.map((c) => c.script))}

Target ≤ ${TARGET_MS} ms (median): **${met ? 'met' : 'not met'}** on this machine at this load.`,
  );
  process.stdout.write(`${JSON.stringify({ rows, bytes: Number(bytes), runs, cpus })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:console failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
