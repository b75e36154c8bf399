import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '@eplb/persistence';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/**
 * A 400-day heat history queried at every resolution: each read is bounded in SQL (a page reads
 * only its buckets, and says where the next starts), and a read whose size exceeds the cap is
 * refused with a 400 naming it instead of loading hundreds of millions of numbers.
 */
describe('heat reads over a 400-day range stay bounded', () => {
  const config = testConfig();
  const deployment = `bounds-${randomUUID().slice(0, 8)}`;
  const L = 16, E = 64, DAYS = 400;
  const DAY = 86_400_000;
  // old enough to sit where no other test writes (the default partition of the test database)
  const end = Math.floor((Date.now() - 40 * DAY) / DAY) * DAY;
  const start = end - DAYS * DAY;
  const range = `from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`;
  let api: RunningApp;
  let ds: DataSource;
  const get = (path: string) => http('GET', `${api.url}/v1/deployments/${deployment}/heat/${path}`, { token: OPERATOR });

  beforeAll(async () => {
    api = await startApi(config);
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-heat-bounds');
    await ds.initialize();
    const created = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: deployment, shape: { layers: L, experts: E, ranks: 8, slotsPerRank: 8, nodes: 1 } } });
    expect(created.status).toBe(201);
    // one minute bucket and one hour bucket a day, every layer: expert e of layer l has count 1
    const ones = Buffer.from(new Float32Array(E).fill(1).buffer);
    for (const resolution of ['minute', 'hour']) {
      await ds.query(
        `INSERT INTO heat_rollups (deployment_id, phase, resolution, layer, bucket, logical_load, episodes, imbalance_sum, imbalance_max)
         SELECT $1, 'decode', $2, l, $3::timestamptz + make_interval(days => d, hours => 12), $4, 2, 2 * 1.25, 1.5
         FROM generate_series(0, ${DAYS - 1}) d CROSS JOIN generate_series(0, ${L - 1}) l`,
        [deployment, resolution, new Date(start), ones],
      );
    }
  });

  afterAll(async () => {
    await ds?.query(`DELETE FROM heat_rollups WHERE deployment_id = $1`, [deployment]);
    await ds?.destroy();
    await api?.close();
  });

  it('pages a 400-day minute trend by its limit, reading on from `next` to the end', async () => {
    const seen: string[] = [];
    let from = new Date(start).toISOString();
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(DAYS / 100 + 1);
      const r = await get(`imbalance?resolution=minute&limit=100&from=${from}&to=${new Date(end).toISOString()}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.buckets.length).toBeLessThanOrEqual(100);
      for (const b of r.body.buckets) {
        expect(b.episodes).toBe(2);
        expect(b.mean).toEqual(Array(L).fill(1.25));
      }
      seen.push(...r.body.buckets.map((b: { t: string }) => b.t));
      if (r.body.next === null) break;
      from = r.body.next;
    }
    expect(seen).toHaveLength(DAYS);
    expect(new Set(seen).size).toBe(DAYS);
  });

  it('pages one layer over time the same way', async () => {
    const r = await get(`heatmap?layer=3&resolution=minute&limit=50&${range}`);
    expect(r.status).toBe(200);
    expect(r.body.buckets).toHaveLength(50);
    expect(r.body.buckets[0].counts).toEqual(Array(E).fill(1));
    expect(r.body.next).toBe(new Date(start + 50 * DAY + 12 * 3_600_000).toISOString());
  });

  it('refuses a sum over 400 days of minutes with a 400 naming the cap, and sums the hours', async () => {
    for (const path of [`heatmap?resolution=minute&${range}`, `top?resolution=minute&${range}`, `export.csv?resolution=minute&${range}`]) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.contentType).toContain('application/problem+json');
      expect(r.body.errors[0].field).toBe('query.resolution');
      expect(r.body.errors[0].message).toBe(
        `${DAYS * 1440} minute buckets × ${L} layers × ${E} experts = ${DAYS * 1440 * L * E} numbers, more than the 16777216 one heat read may cover; ask for a coarser resolution, a shorter range or a smaller limit`,
      );
    }
    const auto = await get(`heatmap?${range}`);
    expect(auto.status).toBe(200);
    expect(auto.body.resolution).toBe('hour');
    expect(auto.body.counts).toEqual(Array(L).fill(Array(E).fill(DAYS)));
  });

  it('sums minutes over a range with ragged ends: the whole hours from the hour rollups, the ends from the minutes', async () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const HOUR = 3_600_000;
    // day 0 11:30 → day 2 12:30 holds the 12:00 minute buckets of days 0, 1 and 2
    const sum = await get(`heatmap?resolution=minute&from=${at(start + 11.5 * HOUR)}&to=${at(start + 2 * DAY + 12.5 * HOUR)}`);
    expect(sum.status, JSON.stringify(sum.body)).toBe(200);
    expect(sum.body.resolution).toBe('minute');
    expect(sum.body.counts).toEqual(Array(L).fill(Array(E).fill(3)));
    // ending at day 2 12:00 leaves that day's bucket out (a bucket counts from its start)
    const top = await get(`top?resolution=minute&layer=5&k=1&from=${at(start + 12 * HOUR + 30_000)}&to=${at(start + 2 * DAY + 12 * HOUR)}`);
    expect(top.status).toBe(200);
    // from 12:00:30 the day-0 bucket (starting 12:00) is out too: only day 1's
    expect(top.body.items).toEqual([{ layer: 5, expert: 0, count: 1, share: 1 / E }]);
  });

  it('refuses a page whose limit alone exceeds the cap', async () => {
    const r = await get(`heatmap?layer=0&resolution=minute&limit=10080&encoding=f32&${range}`);
    expect(r.status).toBe(200);
    const wide = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: `${deployment}-w`, shape: { layers: 1024, experts: 1024, ranks: 1024, slotsPerRank: 1, nodes: 1 } } });
    expect(wide.status).toBe(201);
    const trend = await http('GET', `${api.url}/v1/deployments/${deployment}-w/heat/imbalance?resolution=minute&limit=10080&${range}`, { token: OPERATOR });
    expect(trend.status).toBe(400);
    expect(trend.body.errors[0]).toMatchObject({ field: 'query.limit' });
  });
});
