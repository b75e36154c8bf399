import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentShape, getPolicy, layerImbalance } from '@eplb/domain';
import { appendEvents, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { HeatAnalysis } from '../../apps/rollout/src/heat-analysis';
import { parseSimArgs, SimOptions } from '../../apps/simulator/src/sim-options';
import { simulatorCli } from '../../apps/simulator/src/cli';
import { routerModelFor } from '../../apps/simulator/src/run';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/**
 * The analysis gate and the simulator following committed layers, on the real stack: the
 * simulator (its CLI, `--map-source db` or `api`) publishes heat to Kafka, the collector stores episodes
 * in Postgres; layer-committed events in `rollouts:<id>` (what the rollout service writes) move
 * layers to a better map (2) and a worse one (3); the simulator switches those layers as they
 * commit, the episodes record it, and HeatAnalysis passes the better batch and fails the worse.
 */
describe('rollout analysis: HeatAnalysis on collected heat, simulator following commits', () => {
  const config = testConfig();
  const shape: DeploymentShape = { numLayers: 4, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
  let api: RunningApp;
  let collector: RunningApp;
  let ds: DataSource;

  beforeAll(async () => {
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    ds = api.app.get(DataSource);
  });
  afterAll(async () => {
    await Promise.all([api?.close(), collector?.close()]);
  });

  it.each(['db', 'api'])('passes a batch committed to a better map, fails one committed to a worse map (simulator --map-source %s)', async (source) => {
    const id = `analysis-${source}-${randomUUID().slice(0, 8)}`;
    const argv = [
      '--deployment', id, '--scenario', 'stationary', '--zipf', '1.2', '--top-k', '2', '--noise', '0.1', '--seed', '11',
      '--episode-steps', '4', '--rate', '60', '--duration', '150', '--map-source', source, '--map-refresh-ms', '100',
      '--api', api.url, '--token', OPERATOR, '--brokers', config.KAFKA_BROKERS.join(','), '--no-validate',
    ];
    const o = parseSimArgs(argv, { token: OPERATOR }) as SimOptions;

    // The heat this simulator will route (same model, same seed): a map balanced for it by the
    // greedy policy (better than round-robin), and one with the three hottest experts on rank 0.
    const model = routerModelFor(o, shape);
    const sample = Array.from({ length: 16 }, () => {
      const ep = Array.from({ length: shape.numLayers }, () => new Float64Array(shape.numExperts));
      for (let k = 0; k < 4; k++) {
        const logical = model.next();
        for (let l = 0; l < shape.numLayers; l++) for (let e = 0; e < shape.numExperts; e++) ep[l][e] += logical[l * shape.numExperts + e];
      }
      return ep;
    });
    const v1 = Array.from({ length: shape.numLayers }, () => Array.from({ length: 12 }, (_, p) => p % 8));
    const better = getPolicy('greedy')({ shape, heat: sample }).physicalToLogical;
    const worse = Array.from({ length: shape.numLayers }, (_, l) => {
      const total = sample.reduce((acc, ep) => acc.map((x, e) => x + ep[l][e]), new Array<number>(8).fill(0));
      const byHeat = Array.from({ length: 8 }, (_, e) => e).sort((a, b) => total[b] - total[a]);
      const cold = byHeat.slice(3);
      return [...byHeat.slice(0, 3), ...Array.from({ length: 9 }, (_, i) => cold[i % cold.length])];
    });
    const mean = (map: number[][], l: number) => layerImbalance(map[l], sample, l, 4, 3).episodeMean;
    for (let l = 0; l < shape.numLayers; l++) {
      expect(mean(better, l)).toBeLessThan(mean(v1, l) - 0.1);
      expect(mean(worse, l)).toBeGreaterThan(mean(v1, l) + 0.1);
    }

    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: 4, experts: 8, ranks: 4, slotsPerRank: 3, nodes: 2 },
        windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
        initialMap: v1,
      },
    });
    expect(created.status).toBe(201);
    const deployments = new DeploymentRepository(ds);
    const meta = { actor: 'test', reason: 'proposal approved', correlationId: id };
    await ds.transaction((em) => deployments.createMapVersion(em, id, 1, better, meta, { source: 'test' }));
    await ds.transaction((em) => deployments.createMapVersion(em, id, 2, worse, meta, { source: 'test' }));

    // the simulator, as `npm run sim` runs it
    const stop = new AbortController();
    const stderr: string[] = [];
    const stdout: string[] = [];
    const sim = simulatorCli({
      argv,
      defaultToken: OPERATOR,
      defaultBrokers: () => config.KAFKA_BROKERS,
      defaultDatabaseUrl: () => config.DATABASE_URL,
      signal: stop.signal,
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
    });
    const rolloutId = randomUUID();
    const commit = (layers: number[], version: number) =>
      ds.transaction((em) =>
        appendEvents(
          em,
          layers.map((layer) => ({ stream: deploymentRolloutsStream(id), type: ROLLOUT_EVENTS.layerCommitted, payload: { rolloutId, layer, version }, actor: 'service:rollout', reason: `rollout ${rolloutId}`, correlationId: rolloutId })),
        ),
      );
    const heat = new HeatWindowRepository(ds);
    const onVersions = async (versions: number[], storedFromMs = 0) =>
      (await heat.layerImbalances(id, 'decode', { layers: [0, 1, 2, 3], storedFromMs, completeOnly: true, newest: true, limit: 1000 })).filter((e) => e.layerVersions.every((v, l) => v === versions[l]));
    const analysis = new HeatAnalysis(heat, deployments);

    try {
      expect(stderr.join('\n')).not.toMatch(/cannot read/);
      await eventually(async () => (await onVersions([1, 1, 1, 1])).length >= 16, 60_000, 250);

      // batch 1: layers 0 and 1 commit the better map
      const rolloutStart = Date.now();
      await commit([0, 1], 2);
      const committedAt = Date.now();
      const q1 = { deployment: id, layers: [0, 1], baselineBefore: rolloutStart, committedAt, minEpisodes: 8, version: 2, baselineVersion: 1 };
      expect((await analysis.analyse(q1)).verdict).toBe('pending');
      await eventually(async () => stderr.some((l) => l === 'sim: layer 0 now on map version 2') && stderr.some((l) => l === 'sim: layer 1 now on map version 2'), 10_000, 50);
      const pass = await eventually(async () => {
        const r = await analysis.analyse(q1);
        return r.verdict === 'pending' ? null : r;
      }, 60_000, 250);
      expect(pass.verdict, pass.detail).toBe('pass');
      expect(pass.after.n).toBeGreaterThanOrEqual(8);
      expect(pass.before.n).toBeGreaterThanOrEqual(16);
      expect(pass.after.mean).toBeLessThan(pass.before.mean - 0.1);
      expect(pass.detail).toMatch(/^layers 0,1 on version 2, decode: mean per-episode imbalance \d\.\d{3} after the commit/);
      // the episodes record the switch: layers 0, 1 on version 2, the others still on 1
      expect((await onVersions([2, 2, 1, 1], committedAt)).length).toBeGreaterThanOrEqual(8);
      expect(stderr).not.toContain('sim: layer 2 now on map version 2');

      // batch 2: layers 2 and 3 commit the worse map
      const start2 = Date.now();
      await commit([2, 3], 3);
      const committed2 = Date.now();
      const q2 = { deployment: id, layers: [2, 3], baselineBefore: start2, committedAt: committed2, minEpisodes: 8, version: 3, baselineVersion: 1 };
      const fail = await eventually(async () => {
        const r = await analysis.analyse(q2);
        return r.verdict === 'pending' ? null : r;
      }, 60_000, 250);
      expect(fail.verdict, fail.detail).toBe('fail');
      expect(fail.detail).toMatch(/worse by more than the tolerance/);
      expect(stderr).toContain('sim: layer 2 now on map version 3');
      expect((await onVersions([2, 2, 3, 3], committed2)).length).toBeGreaterThanOrEqual(8);
      // the read model through the API agrees with what the simulator followed
      const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body;
      expect(list.committedVersions).toEqual([2, 2, 3, 3]);
    } finally {
      stop.abort();
      expect(await sim).toBe(0);
    }
    const summary = JSON.parse(stdout[stdout.length - 1]) as { layerVersions: number[]; interrupted: boolean; publisher: { failed: number } };
    expect(summary).toMatchObject({ layerVersions: [2, 2, 3, 3], interrupted: true, publisher: { failed: 0 } });
  }, 240_000);
});
