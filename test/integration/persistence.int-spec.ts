import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, DeploymentRepository, HeatReportRepository, readStream, runMigrations } from '@eplb/persistence';
import { testConfig } from '../support/env';

describe('persistence on the real Postgres', () => {
  const config = testConfig();
  let ds: DataSource;
  const id = `persist-${randomUUID().slice(0, 8)}`;
  const meta = { actor: 'operator:test', reason: 'integration test', correlationId: randomUUID() };

  beforeAll(async () => {
    ds = createDataSource(config.DATABASE_URL, 'eplb-test');
    await ds.initialize();
    await new DeploymentRepository(ds).create(
      { id, numLayers: 1, numExperts: 2, numRanks: 2, slotsPerRank: 1, numNodes: 1, numGroups: null, initialMap: [[0, 1]] },
      meta,
    );
  });
  afterAll(() => ds?.destroy());

  it('runs migrations idempotently, also when several processes start at once', async () => {
    const others = [0, 1, 2].map(() => createDataSource(config.DATABASE_URL, 'eplb-test-migrate'));
    await Promise.all(others.map((o) => o.initialize()));
    try {
      const applied = await Promise.all(others.map((o) => runMigrations(o)));
      expect(applied).toEqual([[], [], []]);
    } finally {
      await Promise.all(others.map((o) => o.destroy()));
    }
    expect(await ds.showMigrations()).toBe(false);
  });

  it('records who created the deployment and why, in its event stream', async () => {
    const events = await readStream(ds.manager, `deployment:${id}`);
    expect(events.map((e) => e.type)).toEqual(['deployment.created', 'map-version.created']);
    expect(events[0]).toMatchObject({ actor: 'operator:test', reason: 'integration test', correlationId: meta.correlationId });
  });

  it('refuses to rewrite the event store or a map version', async () => {
    await expect(ds.query(`UPDATE events SET reason = 'rewritten' WHERE stream = $1`, [`deployment:${id}`])).rejects.toThrow(/append-only/);
    await expect(ds.query(`DELETE FROM events WHERE stream = $1`, [`deployment:${id}`])).rejects.toThrow(/append-only/);
    await expect(ds.query(`UPDATE map_versions SET reason = 'x' WHERE deployment_id = $1`, [id])).rejects.toThrow(/append-only/);
  });

  it('stores heat at most once per (deployment, rank, step)', async () => {
    const repo = new HeatReportRepository(ds);
    const report = { deploymentId: id, rank: 1, step: 2 ** 40, steps: 16, phase: 'mixed', mapVersion: 1, layerVersions: null, reportedAt: new Date(), load: [[7]] };
    expect(await repo.insertIdempotent([report, { ...report, rank: 0 }])).toBe(2);
    expect(await repo.insertIdempotent([{ ...report, load: [[99]] }])).toBe(0);
    const stored = await repo.query({ deploymentId: id, limit: 10 }, 1);
    expect(stored.map((r) => [r.rank, r.step, r.load])).toEqual([
      [0, 2 ** 40, [[7]]],
      [1, 2 ** 40, [[7]]],
    ]);
  });
});
