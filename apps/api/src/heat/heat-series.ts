import { Injectable } from '@nestjs/common';
import { HeatWindowRepository } from '@eplb/persistence';
import { HeatRange, Resolution } from './heat-range';

/** One time bucket of one layer: logical loads and the per-episode imbalance of its episodes. */
export interface LayerBucket {
  readonly layer: number;
  readonly bucketMs: number;
  readonly logical: Float64Array;
  readonly episodes: number;
  readonly imbalanceSum: number;
  readonly imbalanceMax: number;
}

/** Max episodes read for an episode-resolution query; coarser resolutions serve longer ranges. */
export const MAX_EPISODES = 20_000;

/**
 * Reads heat as per-layer time buckets at a resolution, from episodes or from rollups, so every
 * analyst view is one fold over the same shape of data.
 */
@Injectable()
export class HeatSeries {
  constructor(private readonly windows: HeatWindowRepository) {}

  async buckets(r: HeatRange, resolution: Resolution, layer?: number): Promise<LayerBucket[]> {
    if (resolution !== 'episode') {
      return this.windows.rollups(r.deployment.id, r.phase, resolution, { fromMs: r.fromMs, toMs: r.toMs, layer });
    }
    const E = r.deployment.numExperts;
    const out: LayerBucket[] = [];
    let after = -1;
    for (;;) {
      const page = await this.windows.episodes(r.deployment.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, afterEpisode: after, limit: 500 });
      for (const e of page) {
        for (let l = 0; l < r.deployment.numLayers; l++) {
          if (layer !== undefined && l !== layer) continue;
          out.push({
            layer: l,
            bucketMs: e.startedAt.getTime(),
            logical: e.logicalLoad.subarray(l * E, (l + 1) * E),
            episodes: 1,
            imbalanceSum: e.imbalance[l],
            imbalanceMax: e.imbalance[l],
          });
        }
      }
      if (page.length < 500 || out.length >= MAX_EPISODES * (layer === undefined ? r.deployment.numLayers : 1)) break;
      after = page[page.length - 1].episode;
    }
    return out;
  }
}
