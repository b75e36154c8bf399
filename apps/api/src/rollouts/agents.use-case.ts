import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AGENT_STALE_AFTER_MS, agentRegistryKey, AgentsResponse, agentStatus, AgentStatusResponse, readAgentEntry } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem, REDIS } from '@eplb/platform';

export { AGENT_STALE_AFTER_MS };

/** The deployment's agents as the rollout service last heard them (registry in Redis). */
@Injectable()
export class AgentsUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async execute(dep: string, now = Date.now()): Promise<AgentsResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    const raw = await this.redis.hgetall(agentRegistryKey(dep));
    const agents: AgentStatusResponse[] = [];
    for (let node = 0; node < d.numNodes; node++) {
      const e = readAgentEntry(raw, node);
      const status = agentStatus(e, now);
      if (!e) {
        agents.push({ node, status, ranks: [], lastSeen: null, ageMs: null, principal: null, heldVersions: null });
        continue;
      }
      const ageMs = Math.max(0, now - e.lastSeenMs);
      agents.push({ node, status, ranks: e.ranks, lastSeen: new Date(e.lastSeenMs).toISOString(), ageMs, principal: e.principal, heldVersions: e.heldVersions });
    }
    return { deployment: dep, staleAfterMs: AGENT_STALE_AFTER_MS, agents };
  }
}
