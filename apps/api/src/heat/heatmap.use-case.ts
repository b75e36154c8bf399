import { Injectable } from '@nestjs/common';
import type { LayersHeatmap, LayerTimeHeatmap } from '@eplb/contracts';
import { HeatWindowRepository } from '@eplb/persistence';
import { validationProblem } from '@eplb/platform';
import { HeatRange, pickResolution, RESOLUTIONS } from './heat-range';
import { checkReadBudget } from './heat-read-budget';
import { HeatSeries } from './heat-series';

/** Bucket rows a single response may carry (a week of minutes is 10,080). */
export const MAX_BUCKETS = 10_080;

@Injectable()
export class HeatmapUseCase {
  constructor(
    private readonly series: HeatSeries,
    private readonly windows: HeatWindowRepository,
  ) {}

  /** layers × experts, summed over the range. */
  async layers(r: HeatRange, asked: (typeof RESOLUTIONS)[number]): Promise<LayersHeatmap> {
    const { numLayers: L, numExperts: E } = r.deployment;
    const { resolution, totals } = await this.series.totals(r, asked);
    return {
      deployment: r.deployment.id,
      phase: r.phase,
      from: new Date(r.fromMs).toISOString(),
      to: new Date(r.toMs).toISOString(),
      resolution,
      counts: Array.from({ length: L }, (_, l) => Array.from(totals.get(l) ?? new Float64Array(E))),
    };
  }

  /** one layer × experts × time, bucketed at the resolution, bounded and paginated by time. */
  async layerOverTime(r: HeatRange, layer: number, asked: (typeof RESOLUTIONS)[number], limit: number, encoding: 'json' | 'f32' = 'json'): Promise<LayerTimeHeatmap> {
    if (layer >= r.deployment.numLayers) throw validationProblem([{ field: 'query.layer', message: `must be below ${r.deployment.numLayers}` }]);
    const resolution = pickResolution(r, asked);
    if (encoding === 'f32' && resolution !== 'episode') {
      checkReadBudget('query.limit', `${limit} buckets × ${r.deployment.numExperts} experts`, limit * r.deployment.numExperts);
      const { bucketMs, bytes } = await this.windows.rollupBytes(r.deployment.id, r.phase, resolution, { fromMs: r.fromMs, toMs: r.toMs, layer, limit: limit + 1 });
      const more = bucketMs.length > limit;
      return {
        deployment: r.deployment.id,
        phase: r.phase,
        layer,
        resolution,
        t: bucketMs.slice(0, limit).map((ms) => new Date(ms).toISOString()),
        experts: r.deployment.numExperts,
        f32: Buffer.concat(bytes.slice(0, limit)).toString('base64'),
        next: more ? new Date(bucketMs[limit]).toISOString() : null,
      };
    }
    const { buckets: page, nextMs } = await this.series.page(r, resolution, { layer, limit, withLoads: true });
    const next = nextMs === null ? null : new Date(nextMs).toISOString();
    if (encoding === 'f32') {
      const matrix = new Float32Array(page.length * r.deployment.numExperts);
      page.forEach((b, i) => matrix.set(b.logical, i * r.deployment.numExperts));
      return {
        deployment: r.deployment.id,
        phase: r.phase,
        layer,
        resolution,
        t: page.map((b) => new Date(b.bucketMs).toISOString()),
        experts: r.deployment.numExperts,
        f32: Buffer.from(matrix.buffer).toString('base64'),
        next,
      };
    }
    return {
      deployment: r.deployment.id,
      phase: r.phase,
      layer,
      resolution,
      buckets: page.map((b) => ({ t: new Date(b.bucketMs).toISOString(), counts: Array.from(b.logical) })),
      next,
    };
  }
}
