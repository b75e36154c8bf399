/**
 * `npm run bench:history`: a 7-day heat history of a DeepSeek-V3 deployment (58 layers × 256
 * experts) at 1-minute resolution (plus hour rollups), generated into Postgres, then read through
 * the real API process as an analyst would. Reports p50/p95 per query; the target is ≤ 300 ms for
 * the 7-day 1-minute heatmap.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { roundRobinMap, RouterModel } from '@eplb/domain';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { DEV_BOOTSTRAP_TOKEN, loadConfig } from '@eplb/platform';
import { infraUp } from '../scripts/infra/up';
import { machine } from './lib/machine';
import { writeSection } from './lib/results';

const L = 58, E = 256, R = 64, S = 5, N = 8;
const DAYS = 7;
const PORT = 3902;
const RUNS = 10;
const log = (s: string) => process.stderr.write(`[bench:history] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  await infraUp(config, log);
  const ds = createDataSource(config.DATABASE_URL, 'eplb-bench');
  await ds.initialize();
  const deployment = `bench-history-${randomUUID().slice(0, 8)}`;
  await new DeploymentRepository(ds).create(
    { id: deployment, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N, numGroups: null, episodeSteps: 16, intervalSteps: 1024, latenessSteps: 64, initialMap: roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: N }) },
    { actor: 'bench', reason: 'history benchmark', correlationId: deployment },
  );

  // 256 distinct per-minute vectors from the router model (≈ 1,200 steps of 8,192 tokens × top-8 each),
  // cycled over the week server-side: realistic bytes, generated in seconds.
  const model = new RouterModel({ numLayers: L, numExperts: E, tokensPerStep: 8192, topK: 8, seed: 11, scenarios: ['alternating', 'drift', 'spikes'] });
  await ds.query(`CREATE TEMP TABLE samples (i int PRIMARY KEY, logical bytea NOT NULL)`);
  for (let i = 0; i < 256; i++) {
    const sum = new Float32Array(E);
    for (let s = 0; s < 20; s++) {
      const step = model.next();
      for (let e = 0; e < E; e++) sum[e] += step[(i % L) * E + e] * 60;
    }
    await ds.query(`INSERT INTO samples VALUES ($1, $2)`, [i, Buffer.from(sum.buffer)]);
  }
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const start = end - DAYS * 86_400_000;
  const repo = new HeatWindowRepository(ds);
  await repo.ensurePartitions(Array.from({ length: DAYS + 1 }, (_, d) => start + d * 86_400_000));
  const t0 = Date.now();
  for (let d = 0; d < DAYS; d++) {
    await ds.query(
      `INSERT INTO heat_rollups (deployment_id, phase, resolution, layer, bucket, logical_load, episodes, imbalance_sum, imbalance_max)
       SELECT $1, 'decode', 'minute', l, $2::timestamptz + make_interval(mins => m), s.logical, 75, 75 * (1.2 + 0.3 * sin(m / 90.0 + l)), 1.9
       FROM generate_series(0, 1439) m CROSS JOIN generate_series(0, ${L - 1}) l JOIN samples s ON s.i = (m * ${L} + l) % 256`,
      [deployment, new Date(start + d * 86_400_000)],
    );
  }
  await ds.query(
    `INSERT INTO heat_rollups (deployment_id, phase, resolution, layer, bucket, logical_load, episodes, imbalance_sum, imbalance_max)
     SELECT $1, 'decode', 'hour', l, $2::timestamptz + make_interval(hours => h), s.logical, 4500, 4500 * 1.3, 2.1
     FROM generate_series(0, ${DAYS * 24 - 1}) h CROSS JOIN generate_series(0, ${L - 1}) l JOIN samples s ON s.i = (h * ${L} + l) % 256`,
    [deployment, new Date(start)],
  );
  await ds.query('ANALYZE heat_rollups');
  const [{ rows, bytes }] = await ds.query(
    `SELECT count(*)::int AS rows, sum(pg_column_size(heat_rollups.*))::bigint AS bytes FROM heat_rollups WHERE deployment_id = $1`,
    [deployment],
  );
  log(`generated ${rows} rollup rows (${(Number(bytes) / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const api: ChildProcess = spawn(process.execPath, [join(__dirname, '..', 'dist/apps/api/src/main.js')], {
    env: { ...process.env, API_PORT: String(PORT), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  while (!(await fetch(`http://127.0.0.1:${PORT}/readyz`).then((r) => r.ok, () => false))) await sleep(200);

  const range = `from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`;
  const queries: [string, string][] = [
    ['7-day heatmap, one layer × 256 experts × 10,080 minutes (encoding=f32)', `heatmap?layer=17&resolution=minute&limit=10080&encoding=f32&${range}`],
    ['same, as JSON number arrays (encoding=json)', `heatmap?layer=17&resolution=minute&limit=10080&${range}`],
    ['7-day heatmap, 58 layers × 256 experts (hour rollups)', `heatmap?${range}`],
    ['7-day imbalance trend per layer, hourly', `imbalance?resolution=hour&${range}`],
    ['7-day top-10 hot experts', `top?k=10&${range}`],
  ];
  const results: { query: string; p50: number; p95: number; bytes: number }[] = [];
  for (const [name, path] of queries) {
    const times: number[] = [];
    let size = 0;
    for (let i = 0; i < RUNS + 2; i++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${PORT}/v1/deployments/${deployment}/heat/${path}`, { headers: { authorization: `Bearer ${DEV_BOOTSTRAP_TOKEN}` } });
      const body = await res.arrayBuffer();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${Buffer.from(body).toString().slice(0, 300)}`);
      if (i >= 2) times.push(performance.now() - t);
      size = body.byteLength;
    }
    times.sort((a, b) => a - b);
    results.push({ query: name, p50: times[Math.floor(RUNS / 2)], p95: times[Math.ceil(RUNS * 0.95) - 1], bytes: size });
  }
  api.kill('SIGTERM');
  if (!process.env.HISTORY_KEEP) await ds.query(`DELETE FROM heat_rollups WHERE deployment_id = $1`, [deployment]);
  await ds.destroy();

  const table = results.map((r) => `| ${r.query} | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} | ${(r.bytes / 1e6).toFixed(2)} |`).join('\n');
  writeSection(
    'Heat history queries (`npm run bench:history`)',
    `Command: \`npm run bench:history\` (bench/history.bench.ts). Machine: ${machine()}.
A ${DAYS}-day history of one DeepSeek-V3 deployment (58 layers × 256 experts) at 1-minute resolution
(${rows} rollup rows with the hour rollups, ${(Number(bytes) / 1e6).toFixed(0)} MB), read through the API process over HTTP
(auth, validation, JSON included), ${RUNS} runs after 2 warm-ups. Target: 7-day 1-minute heatmap ≤ 300 ms.

| query | p50 ms | p95 ms | response MB |
|---|---:|---:|---:|
${table}`,
  );
  process.stdout.write(`${JSON.stringify({ rows, bytes: Number(bytes), results })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:history failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
