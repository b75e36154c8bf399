import { Injectable } from '@nestjs/common';
import { HeatWindowRepository, StoredEpisode } from '@eplb/persistence';
import { HeatRange } from './heat-range';

export interface EpisodeResponse {
  episode: number;
  startStep: number;
  endStep: number;
  startedAt: string;
  endedAt: string;
  events: number;
  lateEvents: number;
  closedBy: string;
  missingRanks: number[];
  missingRankSteps: number;
  /** per layer: map version in force (0 when it changed inside the episode) */
  layerVersions: number[];
  /** per layer: max/mean rank load measured under the map in force */
  imbalance: number[];
  /** per layer × logical expert, when asked for (`loads=true`) */
  logical?: number[][];
}

const toResponse = (e: StoredEpisode, E: number, withLoads: boolean): EpisodeResponse => ({
  episode: e.episode,
  startStep: e.startStep,
  endStep: e.endStep,
  startedAt: e.startedAt.toISOString(),
  endedAt: e.endedAt.toISOString(),
  events: e.events,
  lateEvents: e.lateEvents,
  closedBy: e.closedBy,
  missingRanks: e.missingRanks,
  missingRankSteps: e.missingRankSteps,
  layerVersions: Array.from(e.layerVersions),
  imbalance: Array.from(e.imbalance),
  ...(withLoads ? { logical: Array.from({ length: e.imbalance.length }, (_, l) => Array.from(e.logicalLoad.subarray(l * E, (l + 1) * E))) } : {}),
});

@Injectable()
export class ListEpisodesUseCase {
  constructor(private readonly windows: HeatWindowRepository) {}

  async execute(r: HeatRange, q: { afterEpisode?: number; limit: number; loads: boolean }): Promise<{ items: EpisodeResponse[]; nextAfterEpisode: number | null }> {
    const rows = await this.windows.episodes(r.deployment.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, afterEpisode: q.afterEpisode, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((e) => toResponse(e, r.deployment.numExperts, q.loads)),
      nextAfterEpisode: rows.length > q.limit ? page[page.length - 1].episode : null,
    };
  }
}
