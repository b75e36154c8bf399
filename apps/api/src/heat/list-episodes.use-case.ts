import { Injectable } from '@nestjs/common';
import type { EpisodeListResponse, EpisodeResponse } from '@eplb/contracts';
import { HeatWindowRepository, StoredEpisode } from '@eplb/persistence';
import { HeatRange } from './heat-range';

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

  async execute(r: HeatRange, q: { afterEpisode?: number; limit: number; loads: boolean }): Promise<EpisodeListResponse> {
    const rows = await this.windows.episodes(r.deployment.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, afterEpisode: q.afterEpisode, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((e) => toResponse(e, r.deployment.numExperts, q.loads)),
      nextAfterEpisode: rows.length > q.limit ? page[page.length - 1].episode : null,
    };
  }
}
