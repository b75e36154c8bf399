import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { agentRegistryKey, agentStatus, deploymentRolloutsStream, LOOP_ACTORS, readAgentEntry, ROLLOUT_EVENTS, RolloutRequestedPayload } from '@eplb/contracts';
import { decideEmergency, HeatEpisodes, lostRanks, mapAroundLostRanks, nodeOfRank } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, FollowedDeploymentViews, HeatWindowRepository, RolloutEventRepository, shapeOf } from '@eplb/persistence';
import { LOGGER, REDIS } from '@eplb/platform';

/** A rank silent in each of this many newest episodes, while its node's agent is alive, is lost. */
export const SILENT_EPISODES = 8;

/**
 * A lost rank gets an emergency map: when an agent reports a rank gone, or a rank's heat stopped
 * while its node's agent is alive, the loop plans around it (the deployment's policy asked to
 * leave the rank out, every expert kept on a live rank) and requests that map's rollout before
 * any other, in every mode but `observe`, in one batch without analysis gates; the
 * `rollout.emergency-planned` event says which ranks and why. A rank is planned around once: its
 * return is the operator's call.
 */
@Injectable()
export class EmergencyDeployer {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: FollowedDeploymentViews,
    private readonly heat: HeatWindowRepository,
    private readonly events: RolloutEventRepository,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Runs under the deployment's rollout lock; the decision when an emergency is under way (nothing else may deploy now), else null. */
  async step(dep: string, now = Date.now()): Promise<{ kind: 'emergency-wait' | 'emergency'; reason: string } | null> {
    const d = await this.deployments.find(dep);
    if (!d || d.settings.mode === 'observe') return null;
    const shape = shapeOf(d);
    const view = await this.rollouts.refresh(dep);
    const raw = await this.redis.hgetall(agentRegistryKey(dep));
    const alive = (node: number) => ['connected', 'kafka-only'].includes(agentStatus(readAgentEntry(raw, node), now));
    const reported: number[] = [];
    for (let n = 0; n < d.numNodes; n++) {
      const e = readAgentEntry(raw, n);
      if (e && alive(n)) reported.push(...(e.lostRanks ?? []).filter((r) => nodeOfRank(shape, r) === n));
    }
    const episodes = await this.heat.newestMissingRanks(dep, d.settings.phase, SILENT_EPISODES);
    const lost = lostRanks({ episodes, silentEpisodes: SILENT_EPISODES, reported, agentAlive: (r) => alive(nodeOfRank(shape, r)) });
    if (lost.length === 0) return null;
    const rolloutInFlight = view.active() !== null || view.pending().length > 0;
    const decision = decideEmergency({ mode: d.settings.mode, lost, handled: [...view.plannedAround], rolloutInFlight });
    if (decision.kind === 'none') return null;
    if (decision.kind === 'wait') {
      this.logger.warn({ deployment: dep, lost }, decision.reason);
      return { kind: 'emergency-wait', reason: decision.reason };
    }
    await this.deploy(d, decision.ranks, decision.reason, view.committedVersions(d.numLayers), view.inService(d.numLayers));
    return { kind: 'emergency', reason: decision.reason };
  }

  private async deploy(d: DeploymentRecord, ranks: readonly number[], reason: string, committed: number[], inService: number | null): Promise<void> {
    const rolloutId = randomUUID();
    const meta = { actor: LOOP_ACTORS.emergency, reason, correlationId: `emergency:${rolloutId}` };
    const current = await this.deployments.layerRows(d.id, committed);
    if (!current) throw new Error(`${d.id}: the committed map versions are not all stored`);
    const map = mapAroundLostRanks(shapeOf(d), current, await this.recentHeat(d), ranks, d.settings.policy);
    const parent = inService ?? Math.max(...committed);
    const changed = map.some((row, l) => row.some((e, p) => e !== current[l][p]));
    const planned = { stream: deploymentRolloutsStream(d.id), type: ROLLOUT_EVENTS.emergencyPlanned, ...meta };
    if (!changed) {
      // the map in service already serves without them: recorded, so the ranks count as planned around
      await this.events.append([{ ...planned, payload: { lostRanks: [...ranks], mapVersion: null, rolloutId: null } }]);
      this.logger.warn({ deployment: d.id, ranks }, `${reason}: the map in service already serves without them`);
      return;
    }
    const version = await this.deployments.addMapVersion(d.id, parent, map, meta, { emergency: true, lostRanks: [...ranks] }, { parentMayBeOlder: true });
    const payload: RolloutRequestedPayload = {
      rolloutId,
      mapVersion: version,
      // one batch, no analysis gate: serving without the lost rank cannot wait for heat to judge it
      steps: ['rest'],
      onFailure: d.settings.rolloutOnFailure,
      ...(d.settings.rolloutBytesPerSecond ? { bytesPerSecond: d.settings.rolloutBytesPerSecond } : {}),
      automatic: d.settings.mode === 'auto',
      emergency: { lostRanks: [...ranks] },
    };
    const done = await this.events.requestIfIdle(d.id, payload, meta, undefined, [{ ...planned, payload: { lostRanks: [...ranks], mapVersion: version, rolloutId } }]);
    if (done.ok) this.logger.warn({ deployment: d.id, rolloutId, version, ranks }, reason);
    else this.logger.warn({ deployment: d.id, version, busy: done.busy }, 'emergency rollout not requested: a rollout started meanwhile; it is requested after it');
  }

  /** The newest sealed interval's logical heat, as one episode (none stored: no heat, the fallback covers). */
  private async recentHeat(d: DeploymentRecord): Promise<HeatEpisodes> {
    const [latest] = await this.heat.intervals(d.id, d.settings.phase, { limit: 1 });
    if (!latest) return [];
    const E = d.numExperts;
    return [Array.from({ length: d.numLayers }, (_, l) => latest.logicalLoad.subarray(l * E, (l + 1) * E))];
  }
}
