import type { EntityManager } from 'typeorm';
import type { WindowShape } from '@eplb/domain';
import type { StoredEpisode } from './heat-episode.row';
import { fromBytes32, toBytes32 } from './vector-bytes';

/**
 * Folds a sealed interval's episodes into the minute and hour rollups (summed logical load, mean
 * and max imbalance per layer and bucket), within the sealing transaction: a bucket that already
 * holds episodes of the previous interval is read FOR UPDATE and added to, so the rollups stay the
 * sum of everything sealed, whatever order intervals seal in.
 */
export async function foldIntoRollups(em: EntityManager, deploymentId: string, phase: string, episodes: readonly StoredEpisode[], w: WindowShape): Promise<void> {
  const E = w.numExperts;
  for (const resolution of ['minute', 'hour'] as const) {
    const unit = resolution === 'minute' ? 60_000 : 3_600_000;
    const buckets = new Map<number, { logical: Float64Array; episodes: number; imbSum: Float64Array; imbMax: Float64Array }>();
    for (const e of episodes) {
      const bucket = Math.floor(e.startedAt.getTime() / unit) * unit;
      let b = buckets.get(bucket);
      if (!b) {
        b = { logical: new Float64Array(w.numLayers * E), episodes: 0, imbSum: new Float64Array(w.numLayers), imbMax: new Float64Array(w.numLayers) };
        buckets.set(bucket, b);
      }
      for (let i = 0; i < b.logical.length; i++) b.logical[i] += e.logicalLoad[i];
      for (let l = 0; l < w.numLayers; l++) {
        b.imbSum[l] += e.imbalance[l];
        if (e.imbalance[l] > b.imbMax[l]) b.imbMax[l] = e.imbalance[l];
      }
      b.episodes++;
    }
    for (const [bucket, b] of buckets) {
      const at = new Date(bucket);
      const existing: { layer: number; logical_load: Buffer; episodes: number; imbalance_sum: number; imbalance_max: number }[] = await em.query(
        `SELECT layer, logical_load, episodes, imbalance_sum, imbalance_max FROM heat_rollups
         WHERE deployment_id = $1 AND phase = $2 AND resolution = $3 AND bucket = $4 FOR UPDATE`,
        [deploymentId, phase, resolution, at],
      );
      const byLayer = new Map(existing.map((r) => [r.layer, r]));
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let l = 0; l < w.numLayers; l++) {
        const slice = b.logical.slice(l * E, (l + 1) * E);
        const old = byLayer.get(l);
        if (old) {
          const prev = fromBytes32(old.logical_load);
          for (let i = 0; i < E; i++) slice[i] += prev[i];
        }
        const n = values.length;
        tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9})`);
        values.push(
          deploymentId,
          phase,
          resolution,
          l,
          at,
          toBytes32(slice),
          b.episodes + (old?.episodes ?? 0),
          b.imbSum[l] + (old?.imbalance_sum ?? 0),
          Math.max(b.imbMax[l], old?.imbalance_max ?? 0),
        );
      }
      await em.query(
        `INSERT INTO heat_rollups (deployment_id, phase, resolution, layer, bucket, logical_load, episodes, imbalance_sum, imbalance_max)
         VALUES ${tuples.join(', ')}
         ON CONFLICT (deployment_id, phase, resolution, layer, bucket) DO UPDATE SET
           logical_load = EXCLUDED.logical_load, episodes = EXCLUDED.episodes,
           imbalance_sum = EXCLUDED.imbalance_sum, imbalance_max = EXCLUDED.imbalance_max`,
        values,
      );
    }
  }
}
