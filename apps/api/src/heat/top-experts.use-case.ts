import { Injectable } from '@nestjs/common';
import type { HotExpert, TopExpertsResponse } from '@eplb/contracts';
import { HeatRange, RESOLUTIONS } from './heat-range';
import { HeatSeries } from './heat-series';

/** The k hottest (layer, logical expert) pairs over a range, optionally within one layer. */
@Injectable()
export class TopExpertsUseCase {
  constructor(private readonly series: HeatSeries) {}

  async execute(r: HeatRange, k: number, asked: (typeof RESOLUTIONS)[number], layer?: number): Promise<TopExpertsResponse> {
    const E = r.deployment.numExperts;
    const { resolution, totals: sums } = await this.series.totals(r, asked, layer);
    const all: HotExpert[] = [];
    for (const [l, row] of sums) {
      const total = row.reduce((a, b) => a + b, 0);
      for (let e = 0; e < E; e++) if (row[e] > 0) all.push({ layer: l, expert: e, count: row[e], share: row[e] / total });
    }
    all.sort((a, b) => b.count - a.count || a.layer - b.layer || a.expert - b.expert);
    return { resolution, items: all.slice(0, k) };
  }
}
