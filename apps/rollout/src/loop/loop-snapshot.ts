import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { agentRegistryKey, LOOP_ACTORS, nodesWithoutLiveAgent } from '@eplb/contracts';
import { ApprovedVersion, FinishedOutcome, FinishedRollout, intervalMeasuredUnder, LoopSnapshot, ROLLOUT_STATUS, RolloutEvent, rolloutNodes } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, DeploymentRollouts, DeploymentRolloutsReader, FollowedDeploymentViews, HeatWindowRepository, shapeOf, versionsPerLayer } from '@eplb/persistence';
import { REDIS } from '@eplb/platform';

/** What the loop decides on, and what it needs to act on the decision. */
export interface GatheredLoop {
  readonly snapshot: LoopSnapshot;
  readonly deployment: DeploymentRecord;
  readonly view: DeploymentRollouts;
  /** The correlation id the approved version was created under (its policy run's chain). */
  readonly approvedCorrelation: string | null;
}

/** Intervals sealed since the last rollout finished that the cool-down looks at (the newest): one measured under its map ends it. */
const COOL_DOWN_CANDIDATES = 4;

const OUTCOMES: Record<string, FinishedOutcome> = {
  [ROLLOUT_STATUS.succeeded]: 'succeeded',
  [ROLLOUT_STATUS.rolledBack]: 'rolled-back',
  [ROLLOUT_STATUS.aborted]: 'aborted',
};

/**
 * Gathers the automatic loop's snapshot of one deployment from the stores: its mode and since
 * when (deployments), the map in service, the rollout in flight, the last finished rollout and its
 * automatic starts (the rollouts stream), the newest version the scheduler approved that is
 * neither requested nor discarded (map versions), intervals measured under the map the last
 * rollout left (the collector's heat), and which nodes a rollout to it needs have no live agent (agent registry).
 */
@Injectable()
export class LoopSnapshotReader {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: FollowedDeploymentViews,
    private readonly reader: DeploymentRolloutsReader,
    private readonly heat: HeatWindowRepository,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async gather(deploymentId: string, now = Date.now()): Promise<GatheredLoop | null> {
    const d = await this.deployments.find(deploymentId);
    if (!d) return null;
    const view = await this.rollouts.refresh(deploymentId);
    const inService = view.inService(d.numLayers);
    const rolloutInFlight = view.active() !== null || view.pending().length > 0;
    const settled = view.settledVersion;
    const last = view.lastFinished;

    let approved: ApprovedVersion | null = null;
    let approvedCorrelation: string | null = null;
    if (d.latestMapVersion > settled) {
      const newest = (await this.deployments.listMapVersions(deploymentId, 20)).find((v) => v.version > settled && v.createdBy === LOOP_ACTORS.approver);
      if (newest && newest.parentVersion !== null) {
        const runId = typeof newest.origin.runId === 'string' ? newest.origin.runId : null;
        const unreachableNodes = rolloutInFlight ? [] : await this.unreachable(d, view, newest.version, now);
        approved = { version: newest.version, parentVersion: newest.parentVersion, runId, unreachableNodes };
        approvedCorrelation = await this.deployments.mapVersionCorrelationId(deploymentId, newest.version);
      }
    }

    let lastFinished: FinishedRollout | null = null;
    if (last) {
      const machine = await this.reader.rolloutEvents(last.rolloutId);
      const judged = gatesJudged(machine);
      const at = last.finishedAt?.getTime() ?? now;
      // the newest intervals sealed since it finished (the database's clock), counted only if
      // measured wholly under the map it left: a collector that is behind seals old heat late
      const left = { versions: versionsPerLayer(last.committed, d.numLayers), storedFromMs: at };
      const sealed = await this.heat.sealedIntervals(deploymentId, d.settings.phase, d.intervalSteps / d.episodeSteps, { sealedFromMs: at, newest: true, limit: COOL_DOWN_CANDIDATES });
      const request = view.requests.get(last.rolloutId)?.payload;
      const operatorAborted = machine.some((e) => e.type === 'operator' && e.action === 'abort');
      const held = last.status === ROLLOUT_STATUS.aborted && last.failed && !operatorAborted && request?.onFailure === 'hold';
      lastFinished = {
        rolloutId: last.rolloutId,
        automatic: request?.automatic === true,
        outcome: held ? 'held' : (OUTCOMES[last.status] ?? 'aborted'),
        finishedAt: at,
        judged,
        intervalsMeasuredAfter: sealed.filter((i) => intervalMeasuredUnder(i, left)).length,
      };
    }

    return {
      deployment: d,
      view,
      approvedCorrelation,
      snapshot: {
        now,
        mode: d.settings.mode,
        modeSince: d.modeSince.getTime(),
        inService,
        rolloutInFlight,
        approved,
        lastFinished,
        automaticStarts: view.automaticRequests.map((t) => t.getTime()),
        maxAutomaticPerHour: d.settings.maxAutoRolloutsPerHour,
      },
    };
  }

  /** Nodes a rollout from what is committed to `version` needs whose agent is not live. */
  async unreachable(d: DeploymentRecord, view: DeploymentRollouts, version: number, now: number): Promise<number[]> {
    const current = await this.deployments.layerRows(d.id, view.committedVersions(d.numLayers));
    const target = await this.deployments.mapVersion(d.id, version);
    if (!current || !target) return [];
    const nodes = rolloutNodes(shapeOf(d), current, target);
    if (nodes.length === 0) return [];
    return nodesWithoutLiveAgent(await this.redis.hgetall(agentRegistryKey(d.id)), nodes, now);
  }
}

/**
 * True when every analysis gate the rollout asked for gave its verdict (or it asked for none): a
 * promote skips the gate it waits on, and a rollout that ended before its gate decided was not
 * judged either.
 */
export function gatesJudged(events: readonly RolloutEvent[]): boolean {
  const asked = new Set<number>();
  const decided = new Set<number>();
  for (const e of events) {
    if (e.type === 'decided') for (const c of e.commands) if (c.kind === 'analyse') asked.add(c.batch);
    if (e.type === 'analysis') decided.add(e.batch);
  }
  return [...asked].every((b) => decided.has(b));
}
