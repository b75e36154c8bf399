import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { appendEvents, NewEvent } from '@eplb/persistence';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/**
 * `GET .../rebalancing` is what request routers poll: a poll reads what was appended since the
 * last one (and a bounded window below it), not the deployment's whole rollout history.
 */
describe('rebalancing polls read the rollout history incrementally', () => {
  const deployment = `rebal-${randomUUID().slice(0, 8)}`;
  const HISTORY = 3000;
  const rid = randomUUID();
  let api: RunningApp;
  let ds: DataSource;
  let eventRowsRead = 0;

  const event = (type: string, payload: Record<string, unknown>): NewEvent => ({ stream: deploymentRolloutsStream(deployment), type, payload, actor: 'test', reason: 'history', correlationId: rid });

  beforeAll(async () => {
    api = await startApi(testConfig());
    const created = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: deployment, shape: { layers: 4, experts: 4, ranks: 2, slotsPerRank: 2, nodes: 1 } } });
    expect(created.status).toBe(201);
    ds = api.app.get(DataSource);
    // a long history: earlier rollouts' commits, then one running from version 1 to 2
    const history: NewEvent[] = [];
    for (let i = 0; i < HISTORY; i++) history.push(event(ROLLOUT_EVENTS.layerCommitted, { rolloutId: `old-${i % 50}`, layer: i % 4, version: 1 }));
    history.push(event(ROLLOUT_EVENTS.started, { rolloutId: rid, fromVersion: 1, toVersion: 2, layers: [0, 1, 2, 3] }));
    history.push(event(ROLLOUT_EVENTS.layerCommitted, { rolloutId: rid, layer: 0, version: 2 }));
    await appendEvents(ds.manager, history);
    // count the event rows the API reads, as the database hands them over
    const create = ds.createQueryRunner.bind(ds);
    ds.createQueryRunner = (...args: Parameters<DataSource['createQueryRunner']>): QueryRunner => {
      const runner = create(...args);
      const query = runner.query.bind(runner) as (sql: string, params?: unknown[], structured?: boolean) => Promise<unknown>;
      runner.query = (async (sql: string, params?: unknown[], structured?: boolean) => {
        const result = await query(sql, params, structured);
        if (/FROM "events"/.test(sql)) eventRowsRead += Array.isArray(result) ? result.length : ((result as { records?: unknown[] }).records?.length ?? 0);
        return result;
      }) as QueryRunner['query'];
      return runner;
    };
  });
  afterAll(() => api?.close());

  const poll = async () => {
    const before = eventRowsRead;
    const r = await http('GET', `${api.url}/v1/deployments/${deployment}/rebalancing`, { token: OPERATOR });
    expect(r.status).toBe(200);
    return { body: r.body, read: eventRowsRead - before };
  };

  it('reads the history once, then only what is new', async () => {
    const first = await poll();
    expect(first.body).toMatchObject({ rebalancing: true, rolloutId: rid, fromVersion: 1, toVersion: 2, layersCommitted: 1, layersTotal: 4, layerVersions: [2, 1, 1, 1] });
    expect(first.body.since).toEqual(expect.any(String));
    expect(first.read).toBeGreaterThanOrEqual(HISTORY);

    await appendEvents(ds.manager, [event(ROLLOUT_EVENTS.layerCommitted, { rolloutId: rid, layer: 1, version: 2 })]);
    const second = await poll();
    expect(second.body).toMatchObject({ rebalancing: true, layersCommitted: 2, layerVersions: [2, 2, 1, 1] });
    // the new event and at most the re-read window below the cursor (500 ids), never the history
    expect(second.read).toBeLessThan(HISTORY / 2);

    await appendEvents(ds.manager, [event(ROLLOUT_EVENTS.finished, { rolloutId: rid, status: 'COMPLETED' })]);
    expect((await poll()).body).toMatchObject({ rebalancing: false, rolloutId: null, layerVersions: [2, 2, 1, 1] });
  });
});
