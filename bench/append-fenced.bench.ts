/**
 * `npm run bench:append-fenced`: what the rollout service's per-layer write costs the Postgres
 * backend that runs it — the fenced append (APPEND_FENCED: raise the rollout fence, insert the
 * step's events) sent as the service sends it, a statement prepared once per connection
 * (appendFenced), against the same text sent unnamed, which Postgres parses, analyses and plans
 * anew every time. One step's events are shaped like a zero-cost layer's of bench:rollout (8
 * agents): the commit decision, 8 prepare acks, 8 commit acks carrying their 40 weight checksums,
 * the layer committed. Blocks of STATEMENTS statements alternate between the two ways, on one
 * data source; the CPU is the backends' own (user + system from /proc, 10 ms ticks: blocks are long
 * enough for a few hundred ticks). The events table is append-only, so the statements run in a
 * database of their own, made next to DATABASE_URL's and dropped at the end. Writes its section of
 * bench/RESULTS.md; the last line printed is one JSON object.
 */
import { createHash, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { APPEND_FENCED, appendFenced, appendFencedValues, createDataSource, NewEvent, RolloutFence } from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';
import { ensurePostgres, migrate } from '../scripts/infra/up';
import { machine } from './lib/machine';
import { processCpuMs } from './lib/process-cpu';
import { writeSection } from './lib/results';

const AGENTS = 8;
const CHECKSUMS = 40;
const STATEMENTS = Number(process.env.APPEND_BENCH_STATEMENTS ?? 500);
const BLOCKS = Number(process.env.APPEND_BENCH_BLOCKS ?? 6);
const APP = 'eplb-bench-append-fenced';
const log = (m: string): void => void process.stderr.write(`[append-fenced] ${m}\n`);

/** One zero-cost layer's events, as the rollout log writes them in one step. */
function layerEvents(rollout: string, layer: number): NewEvent[] {
  const meta = { actor: 'rollout-service', reason: `layer ${layer}`, correlationId: rollout };
  const stream = `rollout:${rollout}`;
  const at = Date.now();
  const sum = (a: number, k: number): string => createHash('sha256').update(`${layer}/${a}/${k}`).digest('hex');
  const acks = (phase: string, extra: (a: number) => Record<string, unknown>): NewEvent[] =>
    Array.from({ length: AGENTS }, (_, agent) => ({ stream, type: 'rollout.ack', payload: { type: 'ack', at, ack: { phase, layer, agent, attempt: 1, ok: true, ...extra(agent) } }, ...meta }));
  return [
    { stream, type: 'rollout.decided', payload: { type: 'decided', at, commands: Array.from({ length: AGENTS }, (_, agent) => ({ kind: 'commit', layer, agent, attempt: 1 })) }, ...meta },
    ...acks('prepare', () => ({ staged: 40, bytes: 0 })),
    ...acks('commit', (a) => ({ holdings: { version: 2, checksums: Array.from({ length: CHECKSUMS }, (_, k) => sum(a, k)) } })),
    { stream, type: 'rollout.layer-committed', payload: { type: 'layer-committed', at, layer }, ...meta },
  ];
}

async function main(): Promise<void> {
  const base = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  await ensurePostgres(base, log);
  const name = `eplb_bench_append_${randomUUID().slice(0, 8)}`;
  const admin = createDataSource(base.DATABASE_URL.replace(/\/[^/]*$/, '/postgres'), APP);
  await admin.initialize();
  await admin.query(`CREATE DATABASE ${name}`);
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: base.DATABASE_URL.replace(/\/[^/]*$/, `/${name}`) });
  await migrate(config, log);
  const ds = createDataSource(config.DATABASE_URL, APP);
  await ds.initialize();
  // the bench data source's backends (not the admin connection's, in another database)
  const backends = async (): Promise<number[]> =>
    ((await ds.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [APP])) as { pid: number }[]).map((r) => r.pid);
  const rollout = randomUUID();
  const fence: RolloutFence = { deployment: `bench-append-${rollout.slice(0, 8)}`, generation: 1, instance: 'bench' };
  const sample = layerEvents(rollout, 0);
  const bytes = appendFencedValues(fence, sample)[0].length;
  const ways = {
    prepared: (events: NewEvent[]) => appendFenced(ds, fence, events),
    unnamed: async (events: NewEvent[]) => void (await ds.query(APPEND_FENCED.text, appendFencedValues(fence, events))),
  };
  const cpu: Record<keyof typeof ways, number[]> = { prepared: [], unnamed: [] };
  const loadBefore = loadavg();
  let layer = 0;
  // one unmeasured block of each first: the connections, the prepared statement's first runs
  for (let b = -1; b < BLOCKS; b++) {
    for (const way of (b % 2 === 0 ? ['prepared', 'unnamed'] : ['unnamed', 'prepared']) as (keyof typeof ways)[]) {
      const pids = await backends();
      const from = pids.reduce((s, pid) => s + processCpuMs(pid), 0);
      for (let i = 0; i < STATEMENTS; i++) await ways[way](layerEvents(rollout, ++layer));
      const to = pids.reduce((s, pid) => s + processCpuMs(pid), 0);
      if (b >= 0) cpu[way].push((to - from) / STATEMENTS);
    }
  }
  await ds.destroy();
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await admin.destroy();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
  const result = { statements_per_block: STATEMENTS, blocks: BLOCKS, events_per_statement: sample.length, json_bytes_per_statement: bytes, backend_cpu_ms_prepared: Number(median(cpu.prepared).toFixed(3)), backend_cpu_ms_unnamed: Number(median(cpu.unnamed).toFixed(3)) };
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' / ');
  writeSection(
    'The rollout\'s per-layer write in Postgres (`npm run bench:append-fenced`)',
    `Command: \`npm run bench:append-fenced\` (bench/append-fenced.bench.ts; APPEND_BENCH_STATEMENTS=${STATEMENTS}, APPEND_BENCH_BLOCKS=${BLOCKS}). Machine: ${machine()}; load average ${load(loadBefore)} at the start, ${load(loadavg())} at the end.

One zero-cost layer's step as the rollout service writes it (${sample.length} events, ${bytes} bytes of JSON: the commit decision, ${AGENTS} prepare acks, ${AGENTS} commit acks with ${CHECKSUMS} checksums each, the layer committed), appended under the rollout fence in one statement, ${BLOCKS} blocks of ${STATEMENTS} statements each way, alternating (one unmeasured block each first). Backend CPU per statement (user + system of the data source's Postgres backends, ms), per block:

| way | median | blocks |
|---|---:|---|
| prepared once per connection (appendFenced, as the service sends it) | **${result.backend_cpu_ms_prepared}** | ${fmt(cpu.prepared)} |
| the same text sent unnamed (parsed, analysed and planned every time) | **${result.backend_cpu_ms_unnamed}** | ${fmt(cpu.unnamed)} |

Ratio prepared / unnamed: ${(result.backend_cpu_ms_prepared / result.backend_cpu_ms_unnamed).toFixed(2)}. The rollout service sends one such statement per layer (bench:rollout); this is its cost in the backend alone, not in the service.`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
