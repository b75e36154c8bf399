import { Injectable } from '@nestjs/common';
import type { HeatFile } from '@eplb/contracts';
import { DeploymentRepository, DeploymentRolloutsReader, HeatWindowRepository } from '@eplb/persistence';
import { validationProblem } from '@eplb/platform';
import { HeatRange, RESOLUTIONS } from './heat-range';
import { HeatmapUseCase } from './heatmap.use-case';

export const MAX_EXPORT_EPISODES = 256;

@Injectable()
export class HeatExportUseCase {
  constructor(
    private readonly windows: HeatWindowRepository,
    private readonly deployments: DeploymentRepository,
    private readonly heatmap: HeatmapUseCase,
    private readonly rollouts: DeploymentRolloutsReader,
  ) {}

  /** `layer_id,expert_id,count` summed over the range (what vLLM-style tooling reads). */
  async csv(r: HeatRange, asked: (typeof RESOLUTIONS)[number]): Promise<string> {
    const map = await this.heatmap.layers(r, asked);
    const lines = ['layer_id,expert_id,count'];
    map.counts.forEach((row, l) => row.forEach((c, e) => lines.push(`${l},${e},${c}`)));
    return `${lines.join('\n')}\n`;
  }

  async heatFile(r: HeatRange, maxEpisodes: number): Promise<HeatFile> {
    const d = r.deployment;
    const episodes = await this.windows.episodes(d.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, limit: Math.min(maxEpisodes, MAX_EXPORT_EPISODES) });
    if (episodes.length === 0) throw validationProblem([{ field: 'query.from', message: 'no stored episodes in this range' }]);
    // `current` is what serves: per layer the version it is committed on (not the newest version, which may never have been deployed)
    const committed = (await this.rollouts.load(d.id)).view.committedVersions(d.numLayers);
    const current = await this.deployments.layerRows(d.id, committed);
    const inService = committed.every((v) => v === committed[0]) ? committed[0] : null;
    const E = d.numExperts;
    return {
      num_ranks: d.numRanks,
      num_nodes: d.numNodes,
      slots_per_rank: d.slotsPerRank,
      ...(d.numGroups ? { num_groups: d.numGroups } : {}),
      heat: episodes.map((e) => Array.from({ length: d.numLayers }, (_, l) => Array.from(e.logicalLoad.subarray(l * E, (l + 1) * E)))),
      current: current ?? [],
      source: { deployment: d.id, phase: r.phase, from_episode: episodes[0].episode, to_episode: episodes[episodes.length - 1].episode, map_version: inService },
    };
  }
}
