import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { roundRobinMap, RouterModel } from '@eplb/domain';
import { DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';

const SAMPLES = 256;

/** DeepSeek-V3: 58 MoE layers × 256 routed experts; 32 ranks × 9 slots (32 redundant slots), 4 nodes. */
export const DSV3_SHAPE = { numLayers: 58, numExperts: 256, numRanks: 32, slotsPerRank: 9, numNodes: 4 } as const;

/** Registers a DeepSeek-V3-shaped deployment (round-robin map) for a heat bench; its id starts with `prefix`. */
export async function createHeatDeployment(ds: DataSource, prefix: string, reason: string): Promise<string> {
  const id = `${prefix}-${randomUUID().slice(0, 8)}`;
  await new DeploymentRepository(ds).create(
    { id, ...DSV3_SHAPE, numGroups: null, episodeSteps: 16, intervalSteps: 1024, latenessSteps: 64, initialMap: roundRobinMap(DSV3_SHAPE) },
    { actor: 'bench', reason, correlationId: id },
  );
  return id;
}

/**
 * Seeds `minutes` of decode heat ending at the current minute as the collector's rollups: minute
 * buckets cycling 256 distinct per-minute vectors from the router model (drift and spikes), and
 * hour buckets that are the sums of their minutes (the day's first and last hours partial, as the
 * collector's would be), so both resolutions agree. Returns the range's first minute.
 */
export async function seedHeatDay(ds: DataSource, deployment: string, shape: { numLayers: number; numExperts: number }, minutes: number): Promise<number> {
  const { numLayers: L, numExperts: E } = shape;
  const model = new RouterModel({ numLayers: L, numExperts: E, tokensPerStep: 8192, topK: 8, seed: 16, scenarios: ['drift', 'spikes'] });
  const samples: Float32Array[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const sum = new Float32Array(E);
    for (let s = 0; s < 20; s++) {
      const step = model.next();
      for (let e = 0; e < E; e++) sum[e] += step[(i % L) * E + e] * 60;
    }
    samples.push(sum);
  }
  const sampleOf = (m: number, l: number): number => (m * L + l) % SAMPLES;
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const start = end - minutes * 60_000;
  await new HeatWindowRepository(ds).ensurePartitions([start, end]);
  await ds.query(`CREATE TEMP TABLE IF NOT EXISTS samples (i int PRIMARY KEY, logical bytea NOT NULL)`);
  await ds.query(`TRUNCATE samples`);
  await ds.query(`INSERT INTO samples SELECT * FROM unnest($1::int[], $2::bytea[])`, [samples.map((_, i) => i), samples.map((s) => Buffer.from(s.buffer))]);
  await ds.query(
    `INSERT INTO heat_rollups (deployment_id, phase, resolution, layer, bucket, logical_load, episodes, imbalance_sum, imbalance_max)
     SELECT $1, 'decode', 'minute', l, $2::timestamptz + make_interval(mins => m), s.logical, 75, 75 * (1.2 + 0.3 * sin(m / 90.0 + l)), 1.9
     FROM generate_series(0, ${minutes - 1}) m CROSS JOIN generate_series(0, ${L - 1}) l JOIN samples s ON s.i = (m * ${L} + l) % ${SAMPLES}`,
    [deployment, new Date(start)],
  );
  const hours = new Map<number, Float32Array[]>();
  for (let m = 0; m < minutes; m++) {
    const bucket = Math.floor((start + m * 60_000) / 3_600_000) * 3_600_000;
    let rows = hours.get(bucket);
    if (!rows) hours.set(bucket, (rows = Array.from({ length: L }, () => new Float32Array(E))));
    for (let l = 0; l < L; l++) {
      const v = samples[sampleOf(m, l)];
      for (let e = 0; e < E; e++) rows[l][e] += v[e];
    }
  }
  for (const [bucket, rows] of hours) {
    await ds.query(
      `INSERT INTO heat_rollups (deployment_id, phase, resolution, layer, bucket, logical_load, episodes, imbalance_sum, imbalance_max)
       SELECT $1, 'decode', 'hour', l, $2, v, 4500, 4500 * 1.3, 2.1 FROM unnest($3::int[], $4::bytea[]) AS t(l, v)`,
      [deployment, new Date(bucket), rows.map((_, l) => l), rows.map((r) => Buffer.from(r.buffer))],
    );
  }
  await ds.query('ANALYZE heat_rollups');
  return start;
}
