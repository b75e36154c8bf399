import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { roundRobinMap, ROLLOUT_STATUS, WindowShape } from '@eplb/domain';
import { appendEvents, createDataSource, DeploymentRepository, DeploymentRolloutsReader, FollowedDeploymentViews, HeatWindowRepository, PolicyRunRepository } from '@eplb/persistence';
import { LoopSnapshotReader } from '../../apps/rollout/src/loop/loop-snapshot';
import { RolloutOutcomeMeasurer } from '../../apps/rollout/src/outcome/rollout-outcome.measurer';
import { testConfig } from '../support/env';
import { completeEpisode } from '../support/heat';

/**
 * A rollout's measured outcome and the automatic loop's cool-down with workers whose clocks are
 * ten minutes off the control plane's: the episodes and intervals carry the workers' times (their
 * reports' `ts`), the rollout's start and end are the database's. And the collector is behind:
 * an interval of heat from before the rollout is sealed after it ended. The outcome is measured on
 * the heat each map produced — old heat stored late is not taken for the map the rollout left —
 * and the cool-down ends with the first interval measured under that map, not before.
 */
describe('rollout outcome and loop cool-down with skewed worker clocks', () => {
  const config = testConfig();
  const L = 2, E = 4, R = 2, S = 2, K = 4;
  const w: WindowShape = { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, episodeSteps: K, intervalSteps: 4 * K, latenessSteps: K };
  const perInterval = w.intervalSteps / w.episodeSteps;
  let ds: DataSource;
  let redis: Redis;
  let heat: HeatWindowRepository;
  let measurer: RolloutOutcomeMeasurer;
  let reader: DeploymentRolloutsReader;
  let loop: LoopSnapshotReader;

  beforeAll(async () => {
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-outcome-clock');
    await ds.initialize();
    redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
    heat = new HeatWindowRepository(ds);
    const deployments = new DeploymentRepository(ds);
    reader = new DeploymentRolloutsReader(ds);
    measurer = new RolloutOutcomeMeasurer(heat, deployments, new PolicyRunRepository(ds));
    loop = new LoopSnapshotReader(deployments, new FollowedDeploymentViews(reader), reader, heat, redis);
  });
  afterAll(async () => {
    redis?.disconnect();
    await ds?.destroy();
  });

  /** One interval of complete episodes as the collector stores and seals it, stamped with the worker's clock. */
  const seal = async (id: string, n: number, imbalance: number, versions: number[], skewMs: number, logicalLoad?: Float64Array) => {
    const episodes = Array.from({ length: perInterval }, (_, i) => ({
      ...completeEpisode(w, n * perInterval + i, { imbalance: new Float64Array(L).fill(imbalance), layerVersions: Int32Array.from(versions), tsMs: Date.now() + skewMs + i }),
      ...(logicalLoad ? { logicalLoad } : {}),
    }));
    await heat.ensurePartitions(episodes.map((e) => e.firstTsMs));
    await ds.transaction(async (em) => {
      await heat.lock(em, id);
      await heat.insertEpisodes(em, id, episodes);
      expect(await heat.sealInterval(em, id, 'decode', n, w)).toBe(true);
    });
  };

  /** Events of the deployment's rollouts stream, as the rollout service records them (stored on the database's clock). */
  const record = (id: string, events: { type: string; payload: Record<string, unknown> }[]) =>
    ds.transaction((em) => appendEvents(em, events.map((e) => ({ stream: deploymentRolloutsStream(id), ...e, actor: 'service:rollout', reason: 'test', correlationId: id }))));

  const measure = async (id: string, rid: string) => {
    const d = (await new DeploymentRepository(ds).find(id))!;
    return measurer.measure(d, (await reader.load(id)).view, rid);
  };
  const coolDown = async (id: string) => (await loop.gather(id))!.snapshot.lastFinished!;

  for (const [name, skewMs] of [['ten minutes ahead', 600_000], ['ten minutes behind', -600_000]] as const) {
    it(`measures the outcome on the heat of each map and ends the cool-down under the new one, worker clocks ${name}`, async () => {
      const id = `outcome-clock-${randomUUID().slice(0, 8)}`;
      const rid = randomUUID();
      const deployments = new DeploymentRepository(ds);
      const v1 = roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 }).map((row) => Array.from(row));
      await deployments.create(
        { id, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1, numGroups: null, episodeSteps: K, intervalSteps: w.intervalSteps, latenessSteps: K, initialMap: v1 },
        { actor: 'test', reason: 'skewed worker clocks', correlationId: id },
      );
      // v2 pairs each layer's first two slots' experts with the last two's
      const v2 = v1.map((row) => [row[0], row[2], row[1], row[3]]);
      expect(await deployments.addMapVersion(id, 1, v2, { actor: 'test', reason: 'the map rolled out', correlationId: id }, {})).toBe(2);
      await seal(id, 0, 1.5, [1, 1], skewMs);
      await seal(id, 1, 1.5, [1, 1], skewMs);
      await record(id, [
        { type: ROLLOUT_EVENTS.requested, payload: { rolloutId: rid, mapVersion: 2 } },
        { type: ROLLOUT_EVENTS.started, payload: { rolloutId: rid, fromVersion: 1, toVersion: 2, layers: [0, 1] } },
      ]);
      // mid-rollout: layer 0 on v2, layer 1 not yet
      await seal(id, 2, 1.3, [2, 1], skewMs);
      await record(id, [
        { type: ROLLOUT_EVENTS.layerCommitted, payload: { rolloutId: rid, layer: 0, version: 2 } },
        { type: ROLLOUT_EVENTS.layerCommitted, payload: { rolloutId: rid, layer: 1, version: 2 } },
        { type: ROLLOUT_EVENTS.finished, payload: { rolloutId: rid, status: ROLLOUT_STATUS.succeeded, failure: null } },
      ]);

      // the collector behind: heat of v1 sealed after the rollout ended is no measurement of v2
      await seal(id, 3, 1.5, [1, 1], skewMs);
      expect(await measure(id, rid)).toMatchObject({ kind: 'wait' });
      expect(await coolDown(id)).toMatchObject({ rolloutId: rid, judged: true, intervalsMeasuredAfter: 0 });

      // the heat after, per layer: experts of v1's first two slots hot
      const hotAfter = new Float64Array(L * E);
      for (let l = 0; l < L; l++) [hotAfter[l * E + v1[l][0]], hotAfter[l * E + v1[l][1]], hotAfter[l * E + v1[l][2]], hotAfter[l * E + v1[l][3]]] = [30, 30, 10, 10];
      await seal(id, 4, 1.1, [2, 2], skewMs, hotAfter);
      const m = await measure(id, rid);
      expect(m.kind).toBe('record');
      if (m.kind !== 'record') return;
      expect(m.payload.why).toBeNull();
      expect(m.payload.outcome).toMatchObject({ before: { interval: 3, imbalance: expect.closeTo(1.5, 9) }, after: { interval: 4, imbalance: expect.closeTo(1.1, 9) }, gain: expect.closeTo(0.4, 9) });
      // the interval after's own heat under both maps: v1 puts 60 of 80 tokens on rank 0, v2 40 on each
      expect(m.payload.outcome?.onSameHeat).toEqual({ episodes: perInterval, previousMap: expect.closeTo(1.5, 9), newMap: expect.closeTo(1, 9), gain: expect.closeTo(0.5, 9) });
      expect(m.reason).toContain('on the heat after: 1.500 under the previous map, 1.000 under this one, −0.500');
      expect(await coolDown(id)).toMatchObject({ rolloutId: rid, intervalsMeasuredAfter: 1 });
    });
  }
});
