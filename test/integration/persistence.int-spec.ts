import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EpisodeStream } from '@eplb/domain';
import { appendEvents, appendFenced, createDataSource, DeploymentRepository, HeatWindowRepository, readStream, readStreamsWithPrefix, rebuildDeployments, runMigrations } from '@eplb/persistence';
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
      { id, numLayers: 1, numExperts: 2, numRanks: 2, slotsPerRank: 1, numNodes: 1, numGroups: null, episodeSteps: 2, intervalSteps: 4, latenessSteps: 0, initialMap: [[0, 1]] },
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

  it('appends a batch of events in order, payloads and metadata intact', async () => {
    const stream = `order-test:${randomUUID()}`;
    const batch = Array.from({ length: 300 }, (_, i) => ({
      stream,
      type: i % 2 ? 'odd' : 'even',
      payload: { i, nested: { s: `quote " and \\ backslash ${i}`, xs: [i, -i - 1, 0.5] } },
      actor: `actor-${i}`,
      reason: `reason ${i}`,
      correlationId: `c-${i % 7}`,
    }));
    await ds.transaction((em) => appendEvents(em, batch));
    const back = await readStream(ds.manager, stream, '0', 1000);
    expect(back.map((e) => [e.type, e.payload, e.actor, e.reason, e.correlationId])).toEqual(batch.map((e) => [e.type, e.payload, e.actor, e.reason, e.correlationId]));
    const ids = back.map((e) => BigInt(e.id));
    for (let k = 1; k < ids.length; k++) expect(ids[k] > ids[k - 1]).toBe(true);
  });

  it('reads the streams of a prefix page by page in id order, also where ids gain a digit', async () => {
    // ids as text sort "1000000" before "999998": a page taken in text order would end past rows it
    // skipped, and the next page (ids after its last) would never read them. The rows are put in a
    // temporary table of the same name on one connection (it hides the real one there), so the
    // ids can be chosen without moving the real table's sequence.
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`CREATE TEMP TABLE events (LIKE public.events INCLUDING DEFAULTS)`);
      const ids = [999_998, 999_999, 1_000_000, 1_000_001];
      for (const [i, id] of ids.entries()) {
        await runner.query(`INSERT INTO events (id, stream, type, payload, actor, reason, correlation_id) VALUES ($1, $2, 't', '{}', 'a', 'r', 'c')`, [id, `p:${i}`]);
      }
      const read: string[] = [];
      for (let after = '0'; ; ) {
        const page = await readStreamsWithPrefix(runner.manager, 'p:', after, 2);
        read.push(...page.map((r) => r.id));
        if (page.length < 2) break;
        after = page[page.length - 1].id;
      }
      expect(read).toEqual(ids.map(String));
    } finally {
      await runner.query(`DROP TABLE IF EXISTS pg_temp.events`);
      await runner.release();
    }
  });

  it('compresses a large payload with lz4 where the server has it, and reads it back intact', async () => {
    const [{ lz4 }] = (await ds.query(`SELECT count(*) > 0 AS lz4 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`)) as { lz4: boolean }[];
    const [{ attcompression }] = (await ds.query(`SELECT attcompression FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'payload'`)) as { attcompression: string }[];
    expect(attcompression).toBe(lz4 ? 'l' : '');
    const stream = `large:${randomUUID()}`;
    // a plan-like payload well past the TOAST threshold
    const payload = { layers: Array.from({ length: 200 }, (_, layer) => ({ layer, row: Array.from({ length: 320 }, (_, k) => (k * 41 + layer) % 256) })) };
    await ds.transaction((em) => appendEvents(em, [{ stream, type: 'large', payload, ...meta }]));
    const [back] = await readStream(ds.manager, stream, '0', 10);
    expect(back.payload).toEqual(payload);
    const [{ method }] = (await ds.query(`SELECT pg_column_compression(payload) AS method FROM events WHERE stream = $1`, [stream])) as { method: string | null }[];
    expect(method).toBe(lz4 ? 'lz4' : 'pglz');
  });

  it('stores strings Postgres would refuse (NUL, unpaired surrogates) with U+FFFD instead of failing the append', async () => {
    const stream = `odd-text:${randomUUID()}`;
    await ds.transaction((em) =>
      appendEvents(em, [{ stream, type: 't', payload: { error: 'peer said \u0000 and \ud800 alone', ok: 'pair \ud83d\ude00 kept' }, actor: 'a\u0000', reason: 'r\udc00', correlationId: 'c' }]),
    );
    const [e] = await readStream(ds.manager, stream);
    expect(e.payload).toEqual({ error: 'peer said \ufffd and \ufffd alone', ok: 'pair \ud83d\ude00 kept' });
    expect([e.actor, e.reason]).toEqual(['a\ufffd', 'r\ufffd']);
  });

  it('fences rollout writers: a lower lock generation than one already written is refused', async () => {
    const dep = `fence-${randomUUID().slice(0, 8)}`;
    const stream = `rollout:${dep}`;
    const write = (g: number, who: string) => appendFenced(ds, { deployment: dep, generation: g, instance: who }, [{ stream, type: 't', payload: { g, who }, actor: who, reason: 'fence test', correlationId: dep }]);
    expect(await write(2, 'b')).toBe(true);
    expect(await write(1, 'a')).toBe(false); // the paused earlier holder
    expect(await write(2, 'b')).toBe(true); // the holder again
    expect(await write(3, 'c')).toBe(true);
    expect(await write(2, 'b')).toBe(false);
    const [row] = await ds.query(`SELECT generation::int AS g, instance FROM rollout_fences WHERE deployment_id = $1`, [dep]);
    expect(row).toEqual({ g: 3, instance: 'c' });
    // only the writes that raised the fence are in the log, in order
    expect((await readStream(ds.manager, stream)).map((e) => e.payload)).toEqual([{ g: 2, who: 'b' }, { g: 2, who: 'b' }, { g: 3, who: 'c' }]);
  });

  it('refuses to rewrite the event store or a map version', async () => {
    await expect(ds.query(`UPDATE events SET reason = 'rewritten' WHERE stream = $1`, [`deployment:${id}`])).rejects.toThrow(/append-only/);
    await expect(ds.query(`DELETE FROM events WHERE stream = $1`, [`deployment:${id}`])).rejects.toThrow(/append-only/);
    await expect(ds.query(`UPDATE map_versions SET reason = 'x' WHERE deployment_id = $1`, [id])).rejects.toThrow(/append-only/);
  });

  it('stores episodes once, resumes streams from them, seals intervals into rollups', async () => {
    const repo = new HeatWindowRepository(ds);
    const w = { numLayers: 1, numExperts: 2, numRanks: 2, slotsPerRank: 1, episodeSteps: 2, intervalSteps: 4, latenessSteps: 0 };
    const stream = new EpisodeStream(w, 'mixed');
    const t0 = Date.parse('2026-11-20T10:00:00Z');
    for (let step = 0; step < 6; step++) {
      for (const rank of [0, 1]) {
        stream.offer({ rank, step, steps: 1, mapVersion: 1, layerVersions: null, tsMs: t0 + step * 1000, load: [[rank + 1]] }, () => [0, 1]);
      }
    }
    const drained = stream.drain();
    expect(drained.episodes.map((e) => e.episode)).toEqual([0, 1, 2]);
    expect(drained.intervals).toEqual([0]);
    await repo.ensurePartitions([t0]);
    await ds.transaction(async (em) => {
      await repo.lock(em, id);
      expect(await repo.insertEpisodes(em, id, drained.episodes)).toBe(3);
      expect(await repo.insertEpisodes(em, id, drained.episodes)).toBe(0);
      expect(await repo.sealInterval(em, id, 'mixed', 0, w)).toBe(true);
      expect(await repo.sealInterval(em, id, 'mixed', 0, w)).toBe(false);
    });
    const resume = await repo.resume(id, 'mixed', w);
    expect(resume).toMatchObject({ maxEndStep: 6, closedFloor: 3, nextInterval: 1 });
    const [interval] = await repo.intervals(id, 'mixed', { limit: 10 });
    expect(interval).toMatchObject({ interval: 0, episodes: 2, events: 8, missingRankSteps: 0 });
    expect(Array.from(interval.logicalLoad)).toEqual([4, 8]);
    expect(interval.imbalance[0]).toBeCloseTo(8 / 6, 12);
    const minutes = await repo.rollups(id, 'mixed', 'minute', { fromMs: t0 - 60_000, toMs: t0 + 60_000 });
    expect(minutes.map((m) => [m.layer, m.bucketMs, Array.from(m.logical), m.episodes])).toEqual([[0, t0, [4, 8], 2]]);
    // The partition of that day holds the rows.
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM heat_episodes_20261120 WHERE deployment_id = $1`, [id]);
    expect(n).toBe(3);
  });

  it("reads chosen layers' imbalance, versions and (with numExperts) logical load slices of stored episodes", async () => {
    const repo = new HeatWindowRepository(ds);
    const dep = `slices-${randomUUID().slice(0, 8)}`;
    const w = { numLayers: 3, numExperts: 3, numRanks: 3, slotsPerRank: 1, episodeSteps: 1, intervalSteps: 4, latenessSteps: 0 };
    const stream = new EpisodeStream(w, 'decode');
    const t0 = Date.parse('2026-11-21T10:00:00Z');
    // layer l's rank r serves expert (r + l) % 3 with load 10·l + r + 1 (+ 100 per step)
    const row = (l: number) => [0, 1, 2].map((r) => (r + l) % 3);
    for (let step = 0; step < 2; step++) {
      for (const rank of [0, 1, 2]) {
        stream.offer({ rank, step, steps: 1, mapVersion: 1, layerVersions: null, tsMs: t0 + step * 1000, load: [0, 1, 2].map((l) => [10 * l + rank + 1 + 100 * step]) }, (_v, l) => row(l));
      }
    }
    const { episodes } = stream.drain();
    expect(episodes.map((e) => e.episode)).toEqual([0, 1]);
    await repo.ensurePartitions([t0]);
    await ds.transaction(async (em) => {
      await repo.lock(em, dep);
      await repo.insertEpisodes(em, dep, episodes);
    });
    const logical = (l: number, step: number) => {
      const h = [0, 0, 0];
      row(l).forEach((e, r) => (h[e] = 10 * l + r + 1 + 100 * step));
      return h;
    };
    const q = { layers: [2, 0], completeOnly: true, limit: 10 };
    const plain = await repo.layerImbalances(dep, 'decode', q);
    expect(plain.map((e) => [e.episode, e.layerVersions, 'logicalLoad' in e])).toEqual([[0, [1, 1], false], [1, [1, 1], false]]);
    expect(plain[0].imbalance[0]).toBeCloseTo((23 * 3) / (21 + 22 + 23), 12);
    const withLoad = await repo.layerImbalances(dep, 'decode', { ...q, numExperts: 3, newest: true });
    expect(withLoad.map((e) => [e.episode, e.logicalLoad!.map((x) => Array.from(x))])).toEqual([
      [1, [logical(2, 1), logical(0, 1)]],
      [0, [logical(2, 0), logical(0, 0)]],
    ]);
    // a shape the vectors do not have gives no slices rather than wrong ones
    expect((await repo.layerImbalances(dep, 'decode', { ...q, numExperts: 4 })).every((e) => e.logicalLoad === undefined)).toBe(true);
  });

  it('rebuilds the deployments read model from the event store alone', async () => {
    const repo = new DeploymentRepository(ds);
    const rid = `rebuild-${randomUUID().slice(0, 8)}`;
    await repo.create({ id: rid, numLayers: 1, numExperts: 2, numRanks: 2, slotsPerRank: 1, numNodes: 1, numGroups: null, episodeSteps: 2, intervalSteps: 4, latenessSteps: 0, initialMap: [[0, 1]], settings: { mode: 'approve' } }, meta);
    await repo.updateSettings(rid, { cadenceSeconds: 42, maxTransfers: 7, expertBytes: 123 }, meta);
    await repo.updateSettings(rid, { mode: 'auto', rolloutSteps: [2, { layers: 'rest', analysis: true }], rolloutOnFailure: 'hold', rolloutBytesPerSecond: 5e8, maxAutoRolloutsPerHour: 3 }, meta);
    await ds.transaction((em) => repo.createMapVersion(em, rid, 1, [[1, 0]], meta, {}));
    const before = await repo.find(rid);
    // Wreck the read model, then replay.
    await ds.query(
      `UPDATE deployments SET mode = 'observe', cadence_seconds = 1, latest_map_version = 1, settings_version = 9, max_transfers = NULL,
         rollout_steps = '["rest"]', rollout_on_failure = 'rollback', rollout_bytes_per_second = NULL, max_auto_rollouts_per_hour = 60, mode_since = now() - interval '1 day' WHERE id = $1`,
      [rid],
    );
    expect(await rebuildDeployments(ds, rid)).toBe(1);
    const after = await repo.find(rid);
    expect({ ...after, createdAt: undefined }).toEqual({ ...before, createdAt: undefined });
    expect(after).toMatchObject({
      latestMapVersion: 2,
      settingsVersion: 3,
      settings: { mode: 'auto', cadenceSeconds: 42, maxTransfers: 7, expertBytes: 123, rolloutSteps: [2, { layers: 'rest', analysis: true }], rolloutOnFailure: 'hold', rolloutBytesPerSecond: 5e8, maxAutoRolloutsPerHour: 3 },
    });
    expect(after!.modeSince.getTime()).toBeGreaterThan(before!.createdAt.getTime());
  });
});
