import { Inject, Injectable } from '@nestjs/common';
import type { WhatIfResponse } from '@eplb/contracts';
import { DeploymentRolloutsReader, HeatWindowRepository, PolicySettings } from '@eplb/persistence';
import { PolicyRunner, ProposalTimeLimitError } from '@eplb/planning';
import { APP_CONFIG, AppConfig, PROBLEM_TYPES, ProblemError, validationProblem } from '@eplb/platform';
import { HeatRange } from '../heat/heat-range';

export const MAX_WHAT_IF_EPISODES = 1024;
/** What-ifs running at once, each on a thread of its own; more are refused (429), not queued. */
export const MAX_CONCURRENT_WHAT_IFS = 2;

/** Any policy on any stored range against any map version (default: the one in service), recording nothing. */
@Injectable()
export class WhatIfUseCase {
  constructor(
    private readonly windows: HeatWindowRepository,
    private readonly runner: PolicyRunner,
    private readonly rollouts: DeploymentRolloutsReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private running = 0;

  async execute(r: HeatRange, mapVersion: number | undefined, overrides: Partial<PolicySettings>): Promise<WhatIfResponse> {
    const d = r.deployment;
    // by default against the map in service, as the scheduler plans
    const version = mapVersion ?? (await this.rollouts.load(d.id)).view.inService(d.numLayers) ?? d.latestMapVersion;
    if (version > d.latestMapVersion) throw validationProblem([{ field: 'body.mapVersion', message: `${d.id} has no map version ${version} (latest ${d.latestMapVersion})` }]);
    const episodes = await this.windows.episodes(d.id, r.phase, { fromMs: r.fromMs, toMs: r.toMs, limit: MAX_WHAT_IF_EPISODES });
    if (episodes.length === 0) throw validationProblem([{ field: 'body.from', message: `no stored ${r.phase} episodes in this range` }]);
    const settings = { ...d.settings, ...overrides };
    const out = await this.offLoop(() => this.runner.runInThread(d, episodes, version, settings, this.config.WHAT_IF_TIME_LIMIT_MS));
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

  /** The policy off the API's event loop (health checks and other requests keep being answered), bounded in number and time. */
  private async offLoop<T>(run: () => Promise<T>): Promise<T> {
    if (this.running >= MAX_CONCURRENT_WHAT_IFS) {
      throw new ProblemError({ type: PROBLEM_TYPES.http, title: 'Too many what-ifs', status: 429, detail: `${MAX_CONCURRENT_WHAT_IFS} what-ifs are running; ask again when one has answered` });
    }
    this.running++;
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof ProposalTimeLimitError)) throw err;
      throw new ProblemError({
        type: PROBLEM_TYPES.http,
        title: 'What-if over its time limit',
        status: 422,
        detail: `the policy did not finish within ${err.timeLimitMs} ms on this range; ask for a shorter range (fewer episodes)`,
      });
    } finally {
      this.running--;
    }
  }
}
