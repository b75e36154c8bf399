import { Injectable } from '@nestjs/common';
import type { ImbalanceTrend } from '@eplb/contracts';
import { HeatRange, pickResolution, RESOLUTIONS } from './heat-range';
import { HeatSeries } from './heat-series';

@Injectable()
export class ImbalanceTrendUseCase {
  constructor(private readonly series: HeatSeries) {}

  async execute(r: HeatRange, asked: (typeof RESOLUTIONS)[number], limit: number): Promise<ImbalanceTrend> {
    const resolution = pickResolution(r, asked);
    const L = r.deployment.numLayers;
    const byTime = new Map<number, { episodes: number; sum: Float64Array; max: Float64Array }>();
    const { buckets: rows, nextMs } = await this.series.page(r, resolution, { limit, withLoads: false });
    for (const b of rows) {
      let t = byTime.get(b.bucketMs);
      if (!t) byTime.set(b.bucketMs, (t = { episodes: 0, sum: new Float64Array(L), max: new Float64Array(L) }));
      t.sum[b.layer] += b.imbalanceSum;
      if (b.imbalanceMax > t.max[b.layer]) t.max[b.layer] = b.imbalanceMax;
      if (b.layer === 0) t.episodes += b.episodes;
    }
    const buckets = [...byTime.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([ms, t]) => ({
        t: new Date(ms).toISOString(),
        episodes: t.episodes,
        mean: Array.from(t.sum, (s) => (t.episodes ? s / t.episodes : 1)),
        max: Array.from(t.max),
      }));
    return { resolution, buckets, next: nextMs === null ? null : new Date(nextMs).toISOString(), note: 'imbalance = max rank load / mean rank load (1 is perfect); vLLM balancedness = 1 / imbalance' };
  }
}
