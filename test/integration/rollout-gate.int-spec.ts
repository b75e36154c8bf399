import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRolloutsStream, rolloutStream } from '@eplb/contracts';
import { expectedChecksum, SimulatedBackend } from '@eplb/device';
import { DeploymentShape, layerImbalance } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { HeatWindowRepository, readWholeStream } from '@eplb/persistence';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { parseSimArgs, SimOptions } from '../../apps/simulator/src/sim-options';
import { simulatorCli } from '../../apps/simulator/src/cli';
import { routerModelFor } from '../../apps/simulator/src/run';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { agentsLive, startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { agentKeys } from '../support/agent-keys';
import { startSimulatedBackends } from '../support/simulated-cluster';

/**
 * The rollout's analysis gate as a closed loop on the real stack: the simulator (its CLI, following
 * the committed maps through the API) publishes skewed heat to Kafka; the collector stores
 * episodes in Postgres; the rollout service (Redis lock, event store) drives agents with
 * simulated backends over the direct control channel; after the gated first batch commits, the
 * service asks HeatAnalysis about the heat the simulator produced on the new map, and the
 * verdict (paired: each episode against v1's rows modelled on its own logical heat) decides: a
 * worse map (3) is rolled back — every rank holds version 1's weights again and the simulator
 * routes by it — while a better map (2) goes on to every layer and the measured imbalance drops.
 * The `rollout.analysis` events carry the numbers.
 */
describe('rollout gate: simulator → collector → HeatAnalysis → rollout service → agents', () => {
  const config = testConfig();
  const settings = testRolloutSettings({
    ROLLOUT_PREPARE_TIMEOUT_MS: '15000',
    ROLLOUT_ANALYSIS_MIN_EPISODES: '8',
    ROLLOUT_ANALYSIS_POLL_MS: '200',
    ROLLOUT_ANALYSIS_TIMEOUT_MS: '30000',
  });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-rollout-gate-agents' });
  const BYTES = 512;
  const shape: DeploymentShape = { numLayers: 4, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = shape;
  const id = `gate-${randomUUID().slice(0, 8)}`;
  const argv = [
    '--deployment', id, '--scenario', 'stationary', '--zipf', '1.2', '--top-k', '2', '--noise', '0.1', '--seed', '11',
    '--episode-steps', '4', '--rate', '80', '--duration', '300', '--map-source', 'api', '--map-refresh-ms', '100',
    '--token', OPERATOR, '--no-validate',
  ];

  let api: RunningApp;
  let collector: RunningApp;
  let rollout: INestApplication;
  let ds: DataSource;
  let heat: HeatWindowRepository;
  const backends: SimulatedBackend[] = [];
  const runtimes: AgentRuntime[] = [];
  const stop = new AbortController();
  const stderr: string[] = [];
  const stdout: string[] = [];
  let sim: Promise<number> | null = null;

  // maps: v1 round-robin (bad), v2 the hot experts replicated and spread (better), v3 the three
  // hottest crowded on rank 0 (worse), all from the heat this simulator routes (same model, seed)
  let v1: number[][];
  let v2: number[][];
  let v3: number[][];

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    ds = api.app.get(DataSource);
    heat = new HeatWindowRepository(ds);
    rollout = (await startRolloutApp(config, settings)).app;

    const o = parseSimArgs([...argv, '--api', api.url], { token: OPERATOR }) as SimOptions;
    const model = routerModelFor(o, shape);
    const sample = Array.from({ length: 32 }, () => {
      const ep = Array.from({ length: L }, () => new Float64Array(E));
      for (let k = 0; k < 4; k++) {
        const logical = model.next();
        for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) ep[l][e] += logical[l * E + e];
      }
      return ep;
    });
    const totals = Array.from({ length: L }, (_, l) => sample.reduce((acc, ep) => acc.map((x, e) => x + ep[l][e]), new Array<number>(E).fill(0)));
    v1 = Array.from({ length: L }, () => Array.from({ length: R * S }, (_, p) => p % E));
    v2 = totals.map((t) => spreadHot(t, R, S));
    v3 = totals.map((t) => {
      const byHeat = Array.from({ length: E }, (_, e) => e).sort((a, b) => t[b] - t[a]);
      const cold = byHeat.slice(3);
      return [...byHeat.slice(0, 3), ...Array.from({ length: R * S - 3 }, (_, i) => cold[i % cold.length])];
    });
    const mean = (map: number[][], l: number) => layerImbalance(map[l], sample, l, R, S).episodeMean;
    for (let l = 0; l < L; l++) {
      expect(mean(v2, l), `layer ${l}`).toBeLessThan(mean(v1, l) - 0.1);
      expect(mean(v3, l), `layer ${l}`).toBeGreaterThan(mean(v1, l) + 0.1);
    }

    // the deployment on v1; v2 and v3 imported through the API as an engine would hand them over
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: L, experts: E, ranks: R, slotsPerRank: S, nodes: shape.numNodes },
        windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
        initialMap: v1,
        settings: { expertBytes: BYTES },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const [v, map] of [[2, v2], [3, v3]] as const) {
      const r = await http('POST', `${api.url}/v1/deployments/${id}/maps`, { token: OPERATOR, body: { format: 'sglang', document: { physical_to_logical_map: map }, reason: `map ${v}` } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.version).toBe(v);
    }

    // one agent per node, simulated backends holding v1's weights, on the direct control channel
    const bs = await startSimulatedBackends({ shape, map: v1, expertBytes: BYTES });
    backends.push(...bs);
    const service = rollout.get(RolloutService);
    const control = { endpoints: [{ host: '127.0.0.1', port: service.controlChannelPort }] };
    runtimes.push(...bs.map((b, a) => new AgentRuntime({ deployment: id, node: a, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: agentKeys(), control })));
    await Promise.all(runtimes.map((rt) => rt.start()));
    await eventually(async () => runtimes.every((rt) => rt.ready && rt.controlConnected), 60_000);
    await agentsLive(api.url, id, OPERATOR);

    // the simulator, as `npm run sim` runs it, following the committed maps through the API
    sim = simulatorCli({
      argv: [...argv, '--api', api.url],
      defaultToken: OPERATOR,
      defaultBrokers: () => config.KAFKA_BROKERS,
      signal: stop.signal,
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
    });
    // a baseline: complete episodes with every layer on version 1
    await eventually(async () => (await episodes([0, 1, 2, 3], { version: 1 })).length >= 24, 60_000, 250);
  }, 180_000);

  afterAll(async () => {
    stop.abort();
    const code = await sim?.catch(() => -1);
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    await rollout?.close();
    await Promise.all([collector?.close(), api?.close()]);
    if (sim) expect(code, stderr.join('\n')).toBe(0);
  });

  /** Complete episodes (newest first) where each of `layers` was on one version (`version`, when given) throughout. */
  /**
   * Complete episodes of `layers` (newest 1000), by when they started: the simulator's clock is
   * this process's, so an episode starting after a switch was routed by the maps it switched to.
   * (The repository ranges on when episodes were stored — the gate's clock — which an episode in
   * flight at a switch can fall on either side of.)
   */
  const episodes = async (layers: number[], q: { version?: number; fromMs?: number; toMs?: number } = {}) => {
    const { fromMs, toMs, version } = q;
    const eps = await heat.layerImbalances(id, 'decode', { layers, completeOnly: true, newest: true, limit: 1000, ...(version !== undefined ? { version } : {}) });
    return eps.filter((e) => (fromMs === undefined || e.startedAt.getTime() >= fromMs) && (toMs === undefined || e.startedAt.getTime() < toMs));
  };
  const meanOf = (eps: { imbalance: number[] }[]) => eps.reduce((s, e) => s + e.imbalance.reduce((a, b) => a + b, 0) / e.imbalance.length, 0) / eps.length;
  const status = async (rid: string) => (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;
  const finished = (rid: string, want: string) =>
    eventually(async () => {
      const s = await status(rid);
      if (['SUCCEEDED', 'ABORTED', 'ROLLED_BACK', 'REJECTED'].includes(s.status) && s.status !== want) throw new Error(`rollout ended ${s.status}: ${JSON.stringify(s.failure ?? s.rejected)}`);
      return s.status === want ? s : null;
    }, 50_000, 100);
  const start = async (mapVersion: number, reason: string): Promise<string> => {
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion, steps: [{ layers: 1, analysis: true }, 'rest'], reason } });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.rolloutId as string;
  };
  /**
   * Waits until the simulator logged every one of `lines` (it applies a map change before the
   * step it logs it for), and returns the time it was seen: every episode starting later was
   * routed by the maps those lines name.
   */
  const simFollowed = async (lines: string[]): Promise<number> => {
    await eventually(async () => lines.every((l) => stderr.includes(l)), 15_000, 20);
    return Date.now();
  };
  /** The rollout's own event stream, as the audit trail keeps it. */
  const analysisEvents = async (rid: string) => (await readWholeStream(ds.manager, rolloutStream(rid))).filter((e) => e.type === 'rollout.analysis');

  /** Every rank of every agent holds, per layer, exactly the rows and weights of `want[layer]`, on `versions[layer]`. */
  async function expectHoldings(want: number[][], versions: number[]): Promise<void> {
    for (const b of backends) {
      expect(b.stagedLayers()).toEqual([]);
      for (const lh of (await b.describe()).layers) {
        expect(lh.version, `layer ${lh.layer}`).toBe(versions[lh.layer]);
        for (const rh of lh.ranks) {
          const row = want[lh.layer].slice(rh.rank * S, rh.rank * S + S);
          expect(rh.experts, `layer ${lh.layer} rank ${rh.rank}`).toEqual(row);
          expect(rh.checksums).toEqual(row.map((e) => expectedChecksum(lh.layer, e, BYTES)));
        }
      }
    }
  }

  /** The rollout's started event: layers ordered by the expected gain on stored heat, largest first. */
  async function expectOrderedByGain(rid: string): Promise<void> {
    const started = (await readWholeStream(ds.manager, deploymentRolloutsStream(id))).find((e) => e.type === 'rollout.started' && e.payload.rolloutId === rid)!;
    expect(started.payload.orderedBy).toBe('expected gain on the newest sealed interval');
    const gains = started.payload.gains as number[];
    expect(gains.slice().sort((a, b) => b - a)).toEqual(gains);
  }

  it('a gated batch committed to a worse map fails its analysis: rolled back, v1 on every rank, the simulator follows back', async () => {
    const t0 = Date.now();
    const rid = await start(3, 'try the crowded map');
    const done = await finished(rid, 'ROLLED_BACK');
    const seenDone = Date.now();

    // layers go largest expected gain first (on the newest sealed interval): the first batch is that layer
    const first = done.layers[0].layer as number;
    await expectOrderedByGain(rid);
    // the failure names the gate and the numbers the collector measured
    expect(done.failure.reason).toMatch(
      new RegExp(
        `^analysis of batch 0 failed: layers ${first} on version 3, decode: mean per-episode imbalance \\d\\.\\d{3} after the commit \\(\\d+ episodes, sd \\d\\.\\d{3}\\) vs \\d\\.\\d{3} before \\(\\d+ episodes, sd \\d\\.\\d{3}\\); ` +
          `on the same heat the previous map would have had \\d\\.\\d{3} after \\(modelled; measured − modelled \\+\\d\\.\\d{3}, sd \\d\\.\\d{3}\\), and the model's gap on the old map before was [+−]\\d\\.\\d{3} \\(sd \\d\\.\\d{3}\\): ` +
          `paired change \\+\\d\\.\\d{3}, worse by more than the tolerance`,
      ),
    );
    expect(done.layers.map((l: { layer: number; status: string; version: number }) => [l.layer, l.status, l.version]).sort((a: number[], b: number[]) => a[0] - b[0])).toEqual(
      [0, 1, 2, 3].map((l) => [l, l === first ? 'ROLLED_BACK' : 'PENDING', 1]),
    );
    // every rank holds version 1's weights again (checksums of the bytes), nothing staged
    await expectHoldings(v1, [1, 1, 1, 1]);
    const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body;
    expect(list.committedVersions).toEqual([1, 1, 1, 1]);
    expect(list.rebalancing).toBe(false);

    // audit trail: one analysis event, failed, with the numbers; the deployment stream's finish says why
    const [analysis, ...more] = await analysisEvents(rid);
    expect(more).toEqual([]);
    expect(analysis.actor).toBe('service:rollout');
    expect(analysis.payload).toMatchObject({ type: 'analysis', batch: 0, passed: false });
    const detail = analysis.payload.detail as string;
    expect(done.failure.reason).toBe(`analysis of batch 0 failed: ${detail}`);
    const [, after, n, before] = /imbalance (\d\.\d{3}) after the commit \((\d+) episodes.* vs (\d\.\d{3}) before/.exec(detail)!;
    expect(Number(n)).toBeGreaterThanOrEqual(settings.ROLLOUT_ANALYSIS_MIN_EPISODES);
    expect(Number(after)).toBeGreaterThan(Number(before) + 0.1);
    const fin = (await readWholeStream(ds.manager, deploymentRolloutsStream(id))).filter((e) => e.type === 'rollout.finished' && e.payload.rolloutId === rid);
    expect(fin).toHaveLength(1);
    expect(fin[0].payload.status).toBe('ROLLED_BACK');
    expect(fin[0].reason).toBe(done.failure.reason);

    // the collector measured the crowded map on that layer while it was committed …
    const onV3 = await episodes([first], { version: 3, fromMs: t0 });
    expect(onV3.length).toBeGreaterThanOrEqual(settings.ROLLOUT_ANALYSIS_MIN_EPISODES);
    // … the simulator switched that layer to version 3 and back to 1, nothing else
    const switches = [`sim: layer ${first} now on map version 3`, `sim: layer ${first} now on map version 1`];
    const followedBack = await simFollowed(switches);
    expect(stderr.filter((l) => /now on map version/.test(l))).toEqual(switches);
    // … and the episodes after the rollback carry version 1 on every layer again
    const back = await eventually(async () => {
      const eps = await episodes([0, 1, 2, 3], { fromMs: followedBack });
      return eps.length >= 8 ? eps : null;
    }, 20_000, 200);
    for (const e of back) expect(e.layerVersions).toEqual([1, 1, 1, 1]);
    expect(await episodes([first], { version: 3, fromMs: followedBack })).toEqual([]);
    console.log(`worse map: rolled back in ${seenDone - t0} ms; ${detail}`);
  }, 60_000);

  it('a gated batch committed to a better map passes its analysis: every layer on v2 on every rank, measured imbalance lower', async () => {
    const t0 = Date.now();
    const beforeEps = await episodes([0, 1, 2, 3], { version: 1, toMs: t0 });
    expect(beforeEps.length).toBeGreaterThanOrEqual(16);
    const rid = await start(2, 'the spread map');
    const done = await finished(rid, 'SUCCEEDED');
    const seenDone = Date.now();

    expect(done.failure).toBeNull();
    expect(
      done.layers.map((l: { layer: number; status: string; version: number; verifyError: string | null }) => [l.layer, l.status, l.version, l.verifyError]).sort((a: number[], b: number[]) => a[0] - b[0]),
    ).toEqual(Array.from({ length: L }, (_, l) => [l, 'COMMITTED', 2, null]));
    const first = done.layers[0].layer as number;
    await expectOrderedByGain(rid);
    await expectHoldings(v2, [2, 2, 2, 2]);
    const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body;
    expect(list.committedVersions).toEqual([2, 2, 2, 2]);

    // audit trail: the gate passed, with the numbers (better after than before)
    const [analysis, ...more] = await analysisEvents(rid);
    expect(more).toEqual([]);
    expect(analysis.payload).toMatchObject({ type: 'analysis', batch: 0, passed: true });
    const detail = analysis.payload.detail as string;
    expect(detail).toMatch(new RegExp(`^layers ${first} on version 2, decode`));
    expect(detail).toMatch(/ on version 2, decode: mean per-episode imbalance \d\.\d{3} after the commit \(\d+ episodes, sd \d\.\d{3}\) vs \d\.\d{3} before \(\d+ episodes, sd \d\.\d{3}\); on the same heat the previous map would have had \d\.\d{3} after \(modelled; measured − modelled −\d\.\d{3}, .*: paired change −\d\.\d{3}, better/);

    // the simulator followed every layer to version 2, and the collector measures the gain
    const followed = await simFollowed([0, 1, 2, 3].map((l) => `sim: layer ${l} now on map version 2`));
    const afterEps = await eventually(async () => {
      const eps = await episodes([0, 1, 2, 3], { fromMs: followed });
      return eps.length >= 16 ? eps : null;
    }, 20_000, 200);
    for (const e of afterEps) expect(e.layerVersions).toEqual([2, 2, 2, 2]);
    const [b, a] = [meanOf(beforeEps), meanOf(afterEps)];
    expect(a).toBeLessThan(b - 0.1);
    console.log(`better map: succeeded in ${seenDone - t0} ms; measured imbalance ${b.toFixed(3)} → ${a.toFixed(3)}; ${detail}`);
  }, 60_000);
});

/**
 * A placement that spreads the hot experts: the R·S − E redundant slots go one by one to the
 * expert with the highest load per replica, then replicas are packed hottest first onto the least
 * loaded rank that has a free slot and no replica of that expert yet (S slots per rank).
 */
function spreadHot(total: readonly number[], R: number, S: number): number[] {
  const E = total.length;
  const reps = new Array<number>(E).fill(1);
  for (let extra = R * S - E; extra > 0; extra--) {
    let best = 0;
    for (let e = 1; e < E; e++) if (reps[e] < R && total[e] / reps[e] > total[best] / reps[best]) best = e;
    reps[best]++;
  }
  const items = reps.flatMap((n, e) => Array.from({ length: n }, () => ({ e, load: total[e] / n }))).sort((a, b) => b.load - a.load || a.e - b.e);
  const ranks = Array.from({ length: R }, () => ({ experts: [] as number[], load: 0 }));
  for (const it of items) {
    const r = ranks
      .filter((x) => x.experts.length < S && !x.experts.includes(it.e))
      .sort((a, b) => a.load - b.load)[0];
    if (!r) throw new Error('spreadHot: no rank can take the replica');
    r.experts.push(it.e);
    r.load += it.load;
  }
  return ranks.flatMap((x) => x.experts);
}
