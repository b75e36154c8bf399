import { Injectable } from '@nestjs/common';
import type { WhatIfResponse } from '@eplb/contracts';
import { DeploymentRolloutsReader, HeatWindowRepository, PolicySettings } from '@eplb/persistence';
import { PolicyRunner } from '@eplb/planning';
import { validationProblem } from '@eplb/platform';
import { HeatRange } from '../heat/heat-range';

export const MAX_WHAT_IF_EPISODES = 1024;

/** Any policy on any stored range against any map version (default: the one in service), recording nothing. */
@Injectable()
export class WhatIfUseCase {
  constructor(
    private readonly windows: HeatWindowRepository,
    private readonly runner: PolicyRunner,
    private readonly rollouts: DeploymentRolloutsReader,
  ) {}

  async execute(r: HeatRange, mapVersion: number | undefined, overrides: Partial<PolicySettings>): Promise<WhatIfResponse> {
    const d = r.deployment;
    // by default against the map in service, as the scheduler plans
    const version = mapVersion ?? (await this.rollouts.load(d.id)).view.inService(d.numLayers) ?? d.latestMapVersion;
    if (version > d.latestMapVersion) throw validationProblem([{ field: 'body.mapVersion', message: `${d.id} has no map version ${version} (latest ${d.latestMapVersion})` }]);
    const episodes = await this.windows.episodes(d.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, limit: MAX_WHAT_IF_EPISODES });
    if (episodes.length === 0) throw validationProblem([{ field: 'body.from', message: `no stored ${r.phase} episodes in this range` }]);
    const settings = { ...d.settings, ...overrides };
    const out = await this.runner.run(d, episodes, version, settings);
    const p = out.proposal;
    return {
      policy: p.policy,
      mapVersion: version,
      episodes: out.episodes,
      runMs: out.runMs,
      status: p.status,
      reason: p.reason,
      layers: p.layers,
      chosenLayers: p.chosenLayers,
      transfers: p.transfers,
      bytes: p.bytes,
      currentMean: p.currentMean,
      candidateMean: p.candidateMean,
    };
  }
}
