import { Injectable } from '@nestjs/common';
import { validationProblem } from '@eplb/platform';
import { HeatRange, pickResolution, RESOLUTIONS } from './heat-range';
import { HeatSeries } from './heat-series';

export interface LayersHeatmap {
  deployment: string;
  phase: string;
  from: string;
  to: string;
  resolution: string;
  /** counts[layer][expert]: tokens routed to each logical expert over the range */
  counts: number[][];
}

export interface LayerTimeHeatmap {
  deployment: string;
  phase: string;
  layer: number;
  resolution: string;
  /** one row per time bucket: counts[expert] */
  buckets: { t: string; counts: number[] }[];
  /** pass as `from` to read on; null at the end */
  next: string | null;
}

/** Bucket rows a single response may carry (a week of minutes is 10,080). */
export const MAX_BUCKETS = 10_080;

@Injectable()
export class HeatmapUseCase {
  constructor(private readonly series: HeatSeries) {}

  /** layers × experts, summed over the range. */
  async layers(r: HeatRange, asked: (typeof RESOLUTIONS)[number]): Promise<LayersHeatmap> {
    const resolution = pickResolution(r, asked);
    const { numLayers: L, numExperts: E } = r.deployment;
    const sums = Array.from({ length: L }, () => new Float64Array(E));
    for (const b of await this.series.buckets(r, resolution)) {
      const row = sums[b.layer];
      for (let e = 0; e < E; e++) row[e] += b.logical[e];
    }
    return {
      deployment: r.deployment.id,
      phase: r.phase,
      from: new Date(r.fromMs).toISOString(),
      to: new Date(r.toMs).toISOString(),
      resolution,
      counts: sums.map((s) => Array.from(s)),
    };
  }

  /** one layer × experts × time, bucketed at the resolution, bounded and paginated by time. */
  async layerOverTime(r: HeatRange, layer: number, asked: (typeof RESOLUTIONS)[number], limit: number): Promise<LayerTimeHeatmap> {
    if (layer >= r.deployment.numLayers) throw validationProblem([{ field: 'query.layer', message: `must be below ${r.deployment.numLayers}` }]);
    const resolution = pickResolution(r, asked);
    const rows = await this.series.buckets(r, resolution, layer);
    const page = rows.slice(0, limit);
    return {
      deployment: r.deployment.id,
      phase: r.phase,
      layer,
      resolution,
      buckets: page.map((b) => ({ t: new Date(b.bucketMs).toISOString(), counts: Array.from(b.logical) })),
      next: rows.length > limit ? new Date(rows[limit].bucketMs).toISOString() : null,
    };
  }
}
