import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '@eplb/domain';
import { createDataSource, HeatWindowRepository } from '@eplb/persistence';
import { eventually, RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/**
 * A what-if runs its policy on a thread of its own: the API keeps answering while a heavy one
 * runs, and one past its time limit is refused with a problem instead of holding the process.
 * The API runs in this process, so a policy on its event loop would stall the test's own
 * requests too; the order of the replies shows where it ran.
 */
describe('what-if off the event loop', () => {
  const deployment = `whatif-${randomUUID().slice(0, 8)}`;
  const shape = { layers: 32, experts: 256, ranks: 32, slotsPerRank: 9, nodes: 4 };
  const EPISODES = 160;
  const t0 = Date.now() - 3 * 3_600_000;
  const range = { from: new Date(t0).toISOString(), to: new Date(t0 + EPISODES * 10_000).toISOString() };
  let api: RunningApp;
  let strict: RunningApp;
  let ds: DataSource;
  let threads = 0;
  const countThread = () => threads++;

  beforeAll(async () => {
    [api, strict] = await Promise.all([startApi(testConfig({ WHAT_IF_TIME_LIMIT_MS: '300000' })), startApi(testConfig({ WHAT_IF_TIME_LIMIT_MS: '1' }))]);
    ds = createDataSource(testConfig().DATABASE_URL, 'eplb-test-what-if');
    await ds.initialize();
    const created = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: deployment, shape } });
    expect(created.status).toBe(201);
    // skewed heat: a few hot experts per layer, so the policy has real work on every layer
    const rng = new Prng(20261206);
    const { layers: L, experts: E } = shape;
    await new HeatWindowRepository(ds).ensurePartitions([t0, t0 + EPISODES * 10_000]);
    for (let k = 0; k < EPISODES; k++) {
      const logical = Float64Array.from({ length: L * E }, (_, i) => Math.floor((4000 / (1 + ((i % E) * 13 + Math.floor(i / E)) % E)) * (0.5 + rng.next())));
      await ds.query(
        `INSERT INTO heat_episodes (deployment_id, phase, episode, started_at, ended_at, start_step, end_step, slot_load, logical_load,
           imbalance, layer_versions, received, events, late_events, missing_ranks, missing_rank_steps, closed_by)
         VALUES ($1, 'decode', $2, $3, $4, $5, $6, ''::bytea, $7, $8, $9, ''::bytea, 0, 0, '{}', 0, 'complete')`,
        [deployment, k, new Date(t0 + k * 10_000), new Date(t0 + k * 10_000 + 9_000), k * 16, (k + 1) * 16, Buffer.from(logical.buffer), Array(L).fill(1.5), Array(L).fill(1)],
      );
    }
    process.on('worker', countThread);
  });

  afterAll(async () => {
    process.off('worker', countThread);
    await ds?.query(`DELETE FROM heat_episodes WHERE deployment_id = $1`, [deployment]);
    await ds?.destroy();
    await Promise.all([api?.close(), strict?.close()]);
  });

  it('answers health checks while a heavy what-if runs, then the what-if', async () => {
    const replies: string[] = [];
    const before = threads;
    const whatIf = http('POST', `${api.url}/v1/deployments/${deployment}/what-if`, { token: OPERATOR, body: range }).then((r) => {
      replies.push('what-if');
      return r;
    });
    // the policy is on its thread once one was started for it
    await eventually(async () => threads > before, 120_000, 20);
    for (let i = 0; i < 3; i++) {
      const health = await http('GET', `${api.url}/healthz`);
      expect(health.status).toBe(200);
      replies.push('healthz');
    }
    const r = await whatIf;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.episodes).toEqual({ from: 0, to: EPISODES - 1, count: EPISODES });
    expect(['proposed', 'nothing']).toContain(r.body.status);
    expect(replies).toEqual(['healthz', 'healthz', 'healthz', 'what-if']);
  }, 180_000);

  it('refuses a what-if past its time limit with a 422 problem naming the limit', async () => {
    const r = await http('POST', `${strict.url}/v1/deployments/${deployment}/what-if`, { token: OPERATOR, body: range });
    expect(r.status).toBe(422);
    expect(r.contentType).toContain('application/problem+json');
    expect(r.body).toMatchObject({ title: 'What-if over its time limit', status: 422 });
    expect(r.body.detail).toBe('the policy did not finish within 1 ms on this range; ask for a shorter range (fewer episodes)');
    // and the API still answers
    expect((await http('GET', `${strict.url}/healthz`)).status).toBe(200);
  });
});
