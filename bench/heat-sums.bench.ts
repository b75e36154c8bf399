/**
 * `npm run bench:heat-sums`: how long the API takes to sum a long range of minute heat (the
 * heatmap of layers × experts, the top experts), and how long its event loop is held meanwhile
 * (the longest a /readyz waits while the sum is out). Sixteen hours of DeepSeek-V3 decode
 * heat (58 × 256) with ragged ends: the finest resolution whose cells fit the read budget is the
 * minute. HEAT_SUMS_AGAINST=<an earlier build's dist/apps/api/src/main.js> runs that build's API
 * beside this one, on the same data, in interleaved rounds (the ratio holds on a loaded machine).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createDataSource } from '@eplb/persistence';
import { DEV_BOOTSTRAP_TOKEN, loadConfig } from '@eplb/platform';
import { infraUp } from '../scripts/infra/up';
import { freePorts } from '../test/support/processes';
import { createHeatDeployment, DSV3_SHAPE, seedHeatDay } from './lib/heat-day';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const ROUNDS = Number(process.env.HEAT_SUMS_ROUNDS ?? 9);
const log = (s: string) => process.stderr.write(`[bench:heat-sums] ${s}\n`);

interface Api {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly url: string;
}

function startApi(name: string, main: string, port: number): Api {
  const proc = spawn(process.execPath, [main], { env: { ...process.env, API_PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  return { name, proc, url: `http://127.0.0.1:${port}` };
}

async function ready(api: Api): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${api.url}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${api.name}: the API did not get ready`);
}

/** One read: its duration, and the longest a /readyz waited while it was out (/readyz sent one after another: the event loop held by the read). */
async function timed(api: Api, path: string): Promise<{ ms: number; readyzMs: number }> {
  const t0 = performance.now();
  let done = false;
  const read = fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${DEV_BOOTSTRAP_TOKEN}` } })
    .then(async (r) => {
      if (!r.ok) throw new Error(`${api.name} ${path}: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
      return performance.now() - t0;
    })
    .finally(() => (done = true));
  let readyzMs = 0;
  while (!done) {
    const p0 = performance.now();
    await fetch(`${api.url}/readyz`);
    readyzMs = Math.max(readyzMs, performance.now() - p0);
  }
  return { ms: await read, readyzMs };
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  await infraUp(config, log);
  const ds = createDataSource(config.DATABASE_URL, 'eplb-bench-heat-sums');
  await ds.initialize();
  const deployment = await createHeatDeployment(ds, 'bench-sums', 'heat sums benchmark');
  const start = await seedHeatDay(ds, deployment, DSV3_SHAPE, 1080);
  // 16 hours, from 7 minutes past an hour to 23 minutes past another
  const from = Math.ceil(start / 3_600_000) * 3_600_000 + 7 * 60_000;
  const to = from + 15 * 3_600_000 + 16 * 60_000;
  const range = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
  const paths = { heatmap: `/v1/deployments/${deployment}/heat/heatmap?${range}`, top: `/v1/deployments/${deployment}/heat/top?k=20&${range}` };

  const [port, againstPort] = await freePorts(2);
  const apis = [startApi('this build', join(__dirname, '..', 'dist/apps/api/src/main.js'), port)];
  if (process.env.HEAT_SUMS_AGAINST) apis.push(startApi('earlier build', process.env.HEAT_SUMS_AGAINST, againstPort));
  const results = new Map<string, Record<keyof typeof paths, { ms: number[]; readyzMs: number[] }>>();
  const loadBefore = loadavg()[0];
  try {
    await Promise.all(apis.map(ready));
    const resolution = ((await (await fetch(`${apis[0].url}${paths.heatmap}`, { headers: { authorization: `Bearer ${DEV_BOOTSTRAP_TOKEN}` } })).json()) as { resolution: string }).resolution;
    if (resolution !== 'minute') throw new Error(`the range was read at ${resolution}, not minute`);
    for (const a of apis) results.set(a.name, { heatmap: { ms: [], readyzMs: [] }, top: { ms: [], readyzMs: [] } });
    for (let round = -1; round < ROUNDS; round++) {
      for (const a of round % 2 ? apis : [...apis].reverse()) {
        for (const k of Object.keys(paths) as (keyof typeof paths)[]) {
          const t = await timed(a, paths[k]);
          if (round < 0) continue; // one unmeasured round: JIT and connections
          results.get(a.name)![k].ms.push(t.ms);
          results.get(a.name)![k].readyzMs.push(t.readyzMs);
        }
      }
    }
  } finally {
    for (const a of apis) a.proc.kill('SIGTERM');
    await ds.query(`DELETE FROM heat_rollups WHERE deployment_id = $1`, [deployment]);
    await ds.destroy();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [...results].flatMap(([name, r]) =>
    (Object.keys(paths) as (keyof typeof paths)[]).map((k) => `| ${name} | ${k} | ${median(r[k].ms).toFixed(0)} | ${median(r[k].readyzMs).toFixed(0)} |`),
  );
  const figures = Object.fromEntries([...results].map(([name, r]) => [name, { heatmap_ms: Math.round(median(r.heatmap.ms)), top_ms: Math.round(median(r.top.ms)), readyz_max_during_heatmap_ms: Math.round(median(r.heatmap.readyzMs)) }]));
  writeSection(
    'Heat sums over a long range (`npm run bench:heat-sums`)',
    `Command: \`DATABASE_URL=…/<your database> ${process.env.HEAT_SUMS_AGAINST ? 'HEAT_SUMS_AGAINST=<earlier dist>/apps/api/src/main.js ' : ''}npm run bench:heat-sums\` (bench/heat-sums.bench.ts). Machine: ${machine()}; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (1 min).
Sixteen hours of DeepSeek-V3 decode heat (58 layers × 256 experts) with ragged ends (7 past an hour to 23 past another), read at the minute (auto picks it: 16 h × 58 × 256 cells fit the read budget). Per API process, medians of ${ROUNDS} interleaved rounds after one unmeasured: the heatmap's sum (layers × experts) and the top 20 experts, whole request in ms; and the longest a \`/readyz\` waited while the heatmap's sum was out (probes sent one after another: the API's event loop held by the read).

| API | read | ms | longest /readyz meanwhile, ms |
|---|---|---:|---:|
${rows.join('\n')}`,
  );
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:heat-sums failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
