import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { agentRegistryKey, nodesWithoutLiveAgent } from '@eplb/contracts';
import { rolloutNodes } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, DeploymentRollouts, shapeOf } from '@eplb/persistence';
import { PROBLEM_TYPES, ProblemError, REDIS } from '@eplb/platform';

/**
 * Before a rollout is requested: the nodes it needs (every node once a layer changes) whose agent
 * the rollout service has not heard from lately (agent registry in Redis). A rollout to them would
 * sit in its first prepare until it timed out.
 */
@Injectable()
export class RolloutAgentsCheck {
  constructor(
    private readonly deployments: DeploymentRepository,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async missing(d: DeploymentRecord, view: DeploymentRollouts, target: number | readonly (readonly number[])[], now = Date.now()): Promise<number[]> {
    const current = await this.deployments.layerRows(d.id, view.committedVersions(d.numLayers));
    const rows = typeof target === 'number' ? await this.deployments.mapVersion(d.id, target) : target;
    if (!current || !rows) return [];
    const nodes = rolloutNodes(shapeOf(d), current, rows);
    if (nodes.length === 0) return [];
    return nodesWithoutLiveAgent(await this.redis.hgetall(agentRegistryKey(d.id)), nodes, now);
  }

  /** 409 naming the nodes, or nothing when every node the rollout needs has a live agent. */
  async refuseWithoutAgents(d: DeploymentRecord, view: DeploymentRollouts, target: number | readonly (readonly number[])[], what: string): Promise<void> {
    const nodes = await this.missing(d, view, target);
    if (nodes.length === 0) return;
    throw new ProblemError({
      type: PROBLEM_TYPES.conflict,
      title: 'Conflict',
      status: 409,
      detail: `no live agent on node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')} of ${d.id}: a rollout of ${what} would wait in its first prepare until it timed out (force: true queues it anyway)`,
      nodes,
    });
  }
}
