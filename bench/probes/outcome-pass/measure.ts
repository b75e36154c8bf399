/**
 * What the outcome recorder's pass costs as a deployment's rollouts stream grows: the inputs of
 * one finished rollout's outcome (the maps it found and left, the finish before it, the start after
 * it) read two ways.
 * - whole stream: the deployment's stream read whole and folded, and folded again through the
 *   rollout's start and its finish (what every pass did while a rollout waited for its heat);
 * - followed: the recorder's followed view refreshed with what was appended since its last pass
 *   (one new rollout here), its snapshots read (what it does now; its catch-up is once per start).
 * Both must name the same inputs (checked). Run with `--expose-gc` it also weighs what a followed view
 * keeps (heap after a full collection, with the view against without it) beside a view folded whole. Beside them, the deployment's view read whole
 * (`DeploymentRolloutsReader.load`: what the scheduler's run and a proposal's approval did for the
 * map in service) against the same view followed (`FollowedDeploymentViews.refresh`). Each history: N rollouts of L layers (started, L
 * layer commits, finished, its outcome recorded), written to a deployment of its own in DATABASE_URL.
 *
 * `OUTCOME_PASS_ROLLOUTS=100,1000,3000 OUTCOME_PASS_REPEATS=5 node --expose-gc -r @swc-node/register bench/probes/outcome-pass/measure.ts`
 * Last line: one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { cpuUsage } from 'node:process';
import { DataSource } from 'typeorm';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { appendEvents, createDataSource, DeploymentRollouts, DeploymentRolloutsReader, FollowedDeploymentViews, NewEvent, readWholeStream, RolloutsSnapshot, RolloutStreamEvent, versionsPerLayer } from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';
import { machine } from '../../lib/machine';

const L = 58;
const HISTORIES = (process.env.OUTCOME_PASS_ROLLOUTS ?? '100,1000,3000').split(',').map(Number);
const REPEATS = Number(process.env.OUTCOME_PASS_REPEATS ?? 5);

const rolloutEvents = (deployment: string, n: number): NewEvent[] => {
  const rid = `r${n}`;
  const meta = { actor: 'service:rollout', reason: 'probe', correlationId: rid };
  const stream = deploymentRolloutsStream(deployment);
  return [
    { stream, type: ROLLOUT_EVENTS.started, payload: { rolloutId: rid, fromVersion: n + 1, toVersion: n + 2, layers: Array.from({ length: L }, (_, l) => l) }, ...meta },
    ...Array.from({ length: L }, (_, l) => ({ stream, type: ROLLOUT_EVENTS.layerCommitted, payload: { rolloutId: rid, layer: l, version: n + 2 }, ...meta })),
    { stream, type: ROLLOUT_EVENTS.finished, payload: { rolloutId: rid, status: 'SUCCEEDED', failure: null }, ...meta },
  ];
};
/** The outcome the recorder writes for a rollout once measured (none for the rollouts the repeats measure). */
const outcomeEvent = (deployment: string, n: number): NewEvent => ({
  stream: deploymentRolloutsStream(deployment),
  type: ROLLOUT_EVENTS.outcomeMeasured,
  payload: { rolloutId: `r${n}`, status: 'SUCCEEDED', fromVersion: n + 1, toVersion: n + 2, outcome: null, why: 'probe' },
  actor: 'service:rollout',
  reason: 'probe',
  correlationId: `r${n}`,
});
const gc = (globalThis as { gc?: () => void }).gc;
/** Heap in use after a full collection (MB), or NaN without --expose-gc. */
const heapMb = () => {
  if (!gc) return NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

interface Inputs {
  before: number[];
  after: number[];
  previousFinishedMs: number;
  nextStartedMs: number | null;
}

/** The whole-stream way: read, fold, fold through the start and through the finish. */
async function wholeStream(ds: DataSource, deployment: string, rid: string): Promise<Inputs> {
  const events = await readWholeStream(ds.manager, deploymentRolloutsStream(deployment));
  const view = new DeploymentRollouts(deployment);
  for (const e of events) view.apply(e);
  const through = (last: number) => {
    const v = new DeploymentRollouts(deployment);
    for (const e of events.slice(0, last + 1)) v.apply(e as RolloutStreamEvent);
    return v.committedVersions(L);
  };
  const started = events.findIndex((e) => e.type === ROLLOUT_EVENTS.started && e.payload.rolloutId === rid);
  const finished = events.findIndex((e) => e.type === ROLLOUT_EVENTS.finished && e.payload.rolloutId === rid);
  return {
    before: through(started - 1),
    after: through(finished),
    previousFinishedMs: events.slice(0, started).filter((e) => e.type === ROLLOUT_EVENTS.finished).pop()?.occurredAt.getTime() ?? 0,
    nextStartedMs: events.slice(finished + 1).find((e) => e.type === ROLLOUT_EVENTS.started)?.occurredAt.getTime() ?? null,
  };
}

/** The followed way: the view's snapshots. */
const followed = (view: DeploymentRollouts, rid: string): Inputs => {
  const inputs = view.outcomeInputs.get(rid)!;
  return { before: versionsPerLayer(inputs.before, L), after: versionsPerLayer(inputs.after!, L), previousFinishedMs: inputs.previousFinishedAt?.getTime() ?? 0, nextStartedMs: inputs.nextStartedAt?.getTime() ?? null };
};

const timed = async <T>(f: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> => {
  const [t, c] = [performance.now(), cpuUsage()];
  const value = await f();
  const used = cpuUsage(c);
  return { value, wallMs: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
};
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const ds = createDataSource(config.DATABASE_URL, 'eplb-probe-outcome-pass');
  await ds.initialize();
  const reader = new DeploymentRolloutsReader(ds);
  const rows: Record<string, number>[] = [];
  try {
    for (const n of HISTORIES) {
      const deployment = `outcome-pass-${randomUUID().slice(0, 8)}`;
      for (let k = 0; k < n; k += 100) await ds.transaction((em) => appendEvents(em, Array.from({ length: Math.min(100, n - k) }, (_, i) => [...rolloutEvents(deployment, k + i), outcomeEvent(deployment, k + i)]).flat()));
      const follower = reader.followAll();
      await follower.refresh(); // the recorder's catch-up: once per start of the service
      // what one deployment's view keeps: followed (its ids pruned to the re-read window, the maps of rollouts measured dropped)
      // against folded whole (every id)
      const heapBefore = heapMb();
      const views = new FollowedDeploymentViews(reader);
      await views.refresh(deployment);
      const followedMb = heapMb() - heapBefore;
      const whole: RolloutsSnapshot['view'][] = [(await reader.load(deployment)).view];
      const wholeMb = heapMb() - heapBefore - followedMb;
      whole.pop();
      const wholes: { wallMs: number; cpuMs: number }[] = [];
      const follow: { wallMs: number; cpuMs: number }[] = [];
      const loads: { wallMs: number; cpuMs: number }[] = [];
      const viewRefreshes: { wallMs: number; cpuMs: number }[] = [];
      for (let r = 0; r < REPEATS; r++) {
        const next = n + r;
        await ds.transaction((em) => appendEvents(em, rolloutEvents(deployment, next)));
        const f = await timed(async () => followed((await follower.refresh()).get(deployment)!, `r${next}`));
        const w = await timed(() => wholeStream(ds, deployment, `r${next}`));
        if (JSON.stringify(f.value) !== JSON.stringify(w.value)) throw new Error(`the two ways differ for r${next}: ${JSON.stringify(f.value).slice(0, 200)} against ${JSON.stringify(w.value).slice(0, 200)}`);
        follow.push(f);
        wholes.push(w);
        const v = await timed(async () => (await views.refresh(deployment)).inService(L));
        const l = await timed(async () => (await reader.load(deployment)).view.inService(L));
        if (v.value !== l.value) throw new Error(`the map in service differs: followed ${v.value}, whole ${l.value}`);
        viewRefreshes.push(v);
        loads.push(l);
      }
      const row = {
        rollouts: n,
        events: n * (L + 3),
        whole_wall_ms: Number(median(wholes.map((x) => x.wallMs)).toFixed(1)),
        whole_cpu_ms: Number(median(wholes.map((x) => x.cpuMs)).toFixed(1)),
        followed_wall_ms: Number(median(follow.map((x) => x.wallMs)).toFixed(1)),
        followed_cpu_ms: Number(median(follow.map((x) => x.cpuMs)).toFixed(1)),
        view_load_wall_ms: Number(median(loads.map((x) => x.wallMs)).toFixed(1)),
        view_load_cpu_ms: Number(median(loads.map((x) => x.cpuMs)).toFixed(1)),
        view_followed_wall_ms: Number(median(viewRefreshes.map((x) => x.wallMs)).toFixed(1)),
        view_followed_cpu_ms: Number(median(viewRefreshes.map((x) => x.cpuMs)).toFixed(1)),
        followed_view_heap_mb: Number(followedMb.toFixed(2)),
        whole_view_heap_mb: Number(wholeMb.toFixed(2)),
      };
      process.stderr.write(`[outcome-pass] ${JSON.stringify(row)}\n`);
      rows.push(row);
    }
  } finally {
    await ds.destroy();
  }
  process.stderr.write(`[outcome-pass] machine: ${machine()}\n`);
  process.stdout.write(`${JSON.stringify({ histories: rows })}\n`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`[outcome-pass] ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
