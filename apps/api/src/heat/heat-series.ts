import { Injectable } from '@nestjs/common';
import { HeatWindowRepository } from '@eplb/persistence';
import { HeatRange, pickResolution, Resolution, RESOLUTIONS } from './heat-range';
import { checkReadBudget, MAX_HEAT_READ_CELLS, overReadBudget, withinReadBudget } from './heat-read-budget';
import { splitAtHours } from './hour-split';

/** One time bucket of one layer: logical loads and the per-episode imbalance of its episodes. */
export interface LayerBucket {
  readonly layer: number;
  readonly bucketMs: number;
  readonly logical: Float64Array;
  readonly episodes: number;
  readonly imbalanceSum: number;
  readonly imbalanceMax: number;
}

/** The first buckets of a range and where the next page starts (null: the range is read). */
export interface SeriesPage {
  readonly buckets: LayerBucket[];
  readonly nextMs: number | null;
}

const BUCKET_MS = { minute: 60_000, hour: 3_600_000 } as const;
const COARSER: Record<Resolution, Resolution | null> = { episode: 'minute', minute: 'hour', hour: null };

/** Rollup buckets that start in [from, to): buckets are aligned to their resolution. */
const bucketsSpanned = (r: HeatRange, res: 'minute' | 'hour') => Math.ceil(r.toMs / BUCKET_MS[res]) - Math.ceil(r.fromMs / BUCKET_MS[res]);

/**
 * Reads heat as per-layer time buckets at a resolution, from episodes or from rollups, or summed
 * over a whole range. Every read stays within the read budget
 * (heat-read-budget.ts) and is bounded in SQL: a whole range is sized before it is read, a page
 * reads only its buckets.
 */
@Injectable()
export class HeatSeries {
  constructor(private readonly windows: HeatWindowRepository) {}

  /**
   * Each layer's logical load summed over the range (all layers, or `layer`; a layer with no heat
   * in it is absent). `auto` takes the coarser resolution when the finer one exceeds the budget;
   * an explicit one that does is refused. At minute resolution the whole hours inside the range
   * are read from the hour rollups (the same episodes, a sixtieth of the rows) and only the ragged
   * ends from the minute ones: the answer is the minutes' sum.
   */
  async totals(r: HeatRange, asked: (typeof RESOLUTIONS)[number], layer?: number): Promise<{ resolution: Resolution; totals: Map<number, Float64Array> }> {
    const { numLayers: L, numExperts: E } = r.deployment;
    const layers = layer === undefined ? L : 1;
    const totals = new Map<number, Float64Array>();
    for (let res: Resolution | null = pickResolution(r, asked); res; res = asked === 'auto' ? COARSER[res] : null) {
      if (res === 'episode') {
        const fits = Math.floor(MAX_HEAT_READ_CELLS / (layers * E));
        const episodes = await this.windows.countEpisodes(r.deployment.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, atMost: fits + 1 });
        if (withinReadBudget(episodes * layers * E)) {
          for (const b of (await this.page(r, res, { layer, limit: fits, withLoads: true })).buckets) {
            let row = totals.get(b.layer);
            if (!row) totals.set(b.layer, (row = new Float64Array(E)));
            for (let e = 0; e < E; e++) row[e] += b.logical[e];
          }
          return { resolution: res, totals };
        }
        if (asked !== 'auto') throw overReadBudget('query.resolution', `more than ${fits} episodes × ${layers} layers × ${E} experts`, episodes * layers * E);
        continue;
      }
      const cells = bucketsSpanned(r, res) * layers * E;
      if (withinReadBudget(cells)) {
        const id = r.deployment.id;
        if (res === 'hour') {
          await this.windows.addRollupTotals(id, r.phase, 'hour', { fromMs: r.fromMs, toMs: r.toMs, layer }, totals, E);
        } else {
          const { hours, minutes } = splitAtHours(r.fromMs, r.toMs);
          if (hours) await this.windows.addRollupTotals(id, r.phase, 'hour', { ...hours, layer }, totals, E);
          for (const m of minutes) await this.windows.addRollupTotals(id, r.phase, 'minute', { ...m, layer }, totals, E);
        }
        return { resolution: res, totals };
      }
      if (asked !== 'auto' || COARSER[res] === null) throw overReadBudget('query.resolution', `${bucketsSpanned(r, res)} ${res} buckets × ${layers} layers × ${E} experts`, cells);
    }
    throw new Error('unreachable: the hour resolution either fits or is refused');
  }

  /**
   * The first `limit` buckets of the range (all layers, or `layer`), and the start of the next;
   * `withLoads: false` reads the imbalance figures only.
   */
  async page(r: HeatRange, resolution: Resolution, q: { layer?: number; limit: number; withLoads: boolean }): Promise<SeriesPage> {
    const { numLayers: L, numExperts: E } = r.deployment;
    const layers = q.layer === undefined ? L : 1;
    checkReadBudget('query.limit', `${q.limit} buckets × ${layers} layers × ${q.withLoads ? `${E} experts` : '2 figures'}`, q.limit * layers * (q.withLoads ? E : 2));
    if (resolution === 'episode') {
      const rows = await this.windows.episodeSeries(r.deployment.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, limit: q.limit + 1, withLoads: q.withLoads, layer: q.layer, numExperts: E });
      const buckets: LayerBucket[] = [];
      for (const e of rows.slice(0, q.limit)) {
        for (let l = 0; l < L; l++) {
          if (q.layer !== undefined && l !== q.layer) continue;
          const logical = !e.logical ? new Float64Array(0) : q.layer !== undefined ? e.logical : e.logical.subarray(l * E, (l + 1) * E);
          buckets.push({ layer: l, bucketMs: e.startedAt.getTime(), logical, episodes: 1, imbalanceSum: e.imbalance[l], imbalanceMax: e.imbalance[l] });
        }
      }
      return { buckets, nextMs: rows.length > q.limit ? rows[q.limit].startedAt.getTime() : null };
    }
    const starts = await this.windows.rollupBucketStarts(r.deployment.id, r.phase, resolution, { fromMs: r.fromMs, toMs: r.toMs, layer: q.layer ?? 0, limit: q.limit + 1 });
    const nextMs = starts.length > q.limit ? starts[q.limit] : null;
    const buckets = starts.length === 0 ? [] : await this.windows.rollups(r.deployment.id, r.phase, resolution, { fromMs: r.fromMs, toMs: nextMs ?? r.toMs, layer: q.layer, withLoads: q.withLoads });
    return { buckets, nextMs };
  }
}
