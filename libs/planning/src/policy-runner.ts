import { HeatEpisodes, propose, Proposal, ProposalSettings } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, HeatWindowRepository, PolicySettings, shapeOf, StoredEpisode } from '@eplb/persistence';
import { proposeInThread } from './proposal-thread/propose-in-thread';

/** Stored episodes as the policies read them: episodes × layers × logical experts. */
export function toHeat(d: DeploymentRecord, episodes: readonly StoredEpisode[]): HeatEpisodes {
  const E = d.numExperts;
  return episodes.map((e) => Array.from({ length: d.numLayers }, (_, l) => e.logicalLoad.subarray(l * E, (l + 1) * E)));
}

export interface PolicyRunOutcome {
  readonly proposal: Proposal;
  readonly baseMapVersion: number;
  readonly episodes: { readonly from: number; readonly to: number; readonly count: number };
  readonly runMs: number;
}

const proposalSettings = (settings: PolicySettings, excludeRanks: readonly number[]): ProposalSettings => ({
  policy: settings.policy,
  threshold: settings.threshold,
  minGain: settings.minGain,
  maxTransfers: settings.maxTransfers,
  expertBytes: settings.expertBytes,
  ...(excludeRanks.length ? { excludeRanks } : {}),
});

const outcome = (proposal: Proposal, mapVersion: number, episodes: readonly StoredEpisode[], runMs: number): PolicyRunOutcome => ({
  proposal,
  baseMapVersion: mapVersion,
  episodes: { from: episodes[0].episode, to: episodes[episodes.length - 1].episode, count: episodes.length },
  runMs,
});

/**
 * Runs a policy on stored heat against a stored map version: what the scheduler does on each
 * sealed interval, and what an analyst's what-if does on any range. Nothing is recorded here.
 */
export class PolicyRunner {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly windows: HeatWindowRepository,
  ) {}

  /**
   * `excludeRanks`: lost ranks to plan around — every logical expert keeps a replica on a live
   * rank (layers that would leave one unserved are always proposed), the excluded ranks' slots
   * keep what they hold.
   */
  async run(
    d: DeploymentRecord,
    episodes: readonly StoredEpisode[],
    mapVersion: number,
    settings: PolicySettings,
    excludeRanks: readonly number[] = [],
  ): Promise<PolicyRunOutcome> {
    const current = await this.currentMap(d, mapVersion);
    const started = performance.now();
    const proposal = propose(shapeOf(d), toHeat(d, episodes), current, proposalSettings(settings, excludeRanks));
    return outcome(proposal, mapVersion, episodes, performance.now() - started);
  }

  /**
   * The same run on a thread of its own (proposeInThread), stopped after `timeLimitMs`: for a
   * process that must keep answering while a policy runs (the API's what-if). The episodes' load
   * vectors move to the thread: the caller must not read them afterwards.
   */
  async runInThread(d: DeploymentRecord, episodes: readonly StoredEpisode[], mapVersion: number, settings: PolicySettings, timeLimitMs: number): Promise<PolicyRunOutcome> {
    const current = await this.currentMap(d, mapVersion);
    const started = performance.now();
    const proposal = await proposeInThread({ shape: shapeOf(d), loads: episodes.map((e) => e.logicalLoad), current, settings: proposalSettings(settings, []) }, timeLimitMs);
    return outcome(proposal, mapVersion, episodes, performance.now() - started);
  }

  private async currentMap(d: DeploymentRecord, mapVersion: number): Promise<number[][]> {
    const current = await this.deployments.mapVersion(d.id, mapVersion);
    if (!current) throw new Error(`map version ${mapVersion} of ${d.id} does not exist`);
    return current;
  }

  /** The episodes of the newest sealed interval of a phase, or null when none is sealed yet. */
  async latestInterval(d: DeploymentRecord, phase: string): Promise<{ interval: number; episodes: StoredEpisode[] } | null> {
    const [latest] = await this.windows.intervals(d.id, phase, { limit: 1 });
    if (!latest) return null;
    const perInterval = d.intervalSteps / d.episodeSteps;
    const episodes = await this.windows.episodesOfRange(d.id, phase, latest.interval * perInterval, (latest.interval + 1) * perInterval);
    return episodes.length ? { interval: latest.interval, episodes } : null;
  }
}
