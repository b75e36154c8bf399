import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundRobinMap } from '@eplb/domain';
import { createDataSource, DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { HeatAnalysis, HeatAnalysisQuery } from '../../apps/rollout/src/heat-analysis';
import { testConfig } from '../support/env';
import { completeEpisode } from '../support/heat';

/**
 * The analysis gate with workers whose clocks are ten minutes off the control plane's: the
 * episodes carry the workers' times (their reports' `ts`), the rollout's start and commit are the
 * rollout service's. The gate still measures the episodes stored before the rollout against
 * those stored after the commit: a better map passes with both sets measured, a worse one fails.
 * (The episodes are stored as the collector stores them; the collector itself still refuses
 * reports more than MAX_CLOCK_SKEW_MS ahead of its clock, a bound on input of its own.)
 */
describe('analysis gate with skewed worker clocks', () => {
  const config = testConfig();
  const L = 2, E = 4, R = 2, S = 2, K = 4;
  let ds: DataSource;
  let heat: HeatWindowRepository;

  beforeAll(async () => {
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-gate-clock');
    await ds.initialize();
    heat = new HeatWindowRepository(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  /** Complete episodes as the collector stores them, stamped with the worker's clock. */
  const store = async (id: string, first: number, count: number, imbalance: number, version: number, skewMs: number) => {
    const episodes = Array.from({ length: count }, (_, i) =>
      completeEpisode({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, episodeSteps: K }, first + i, {
        // a little noise per episode, so the gate has a spread to judge
        imbalance: Float64Array.from({ length: L }, (_, l) => imbalance + 0.01 * Math.sin(3 * i + l)),
        layerVersions: new Int32Array(L).fill(version),
        tsMs: Date.now() + skewMs + i,
      }),
    );
    await heat.ensurePartitions(episodes.map((e) => e.firstTsMs));
    await ds.transaction(async (em) => {
      await heat.lock(em, id);
      await heat.insertEpisodes(em, id, episodes);
    });
  };

  /** Heat before the rollout on version 1 at imbalance 1.5, the batch committed, heat after on version 2. */
  const gate = async (skewMs: number, after: number) => {
    const id = `gate-clock-${randomUUID().slice(0, 8)}`;
    await new DeploymentRepository(ds).create(
      { id, numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1, numGroups: null, episodeSteps: K, intervalSteps: 64, latenessSteps: K, initialMap: roundRobinMap({ numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, numNodes: 1 }) },
      { actor: 'test', reason: 'skewed worker clocks', correlationId: id },
    );
    await store(id, 0, 20, 1.5, 1, skewMs);
    // the rollout service's clock from here on
    const baselineBefore = Date.now();
    const committedAt = Date.now();
    await store(id, 20, 8, after, 2, skewMs);
    const q: HeatAnalysisQuery = { deployment: id, layers: [0, 1], baselineBefore, committedAt, minEpisodes: 8, version: 2, baselineVersion: 1, phase: 'decode' };
    return new HeatAnalysis(heat, new DeploymentRepository(ds)).analyse(q);
  };

  for (const [name, skewMs] of [['ten minutes ahead', 600_000], ['ten minutes behind', -600_000]] as const) {
    it(`passes a better map measured against its baseline with worker clocks ${name}`, async () => {
      const r = await gate(skewMs, 1.1);
      expect(r.verdict, r.detail).toBe('pass');
      if (r.verdict === 'pending') throw new Error('unreachable');
      expect({ before: r.before.n, after: r.after.n }).toEqual({ before: 20, after: 8 });
      expect(r.detail).toMatch(/better/);
    });

    it(`fails a worse map with worker clocks ${name}`, async () => {
      const r = await gate(skewMs, 1.9);
      expect(r.verdict, r.detail).toBe('fail');
    });
  }
});
