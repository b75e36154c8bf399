import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AgentRegistryEntry, agentRegistryKey, AgentsResponse, AgentStatusResponse } from '@eplb/contracts';
import { DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem, REDIS } from '@eplb/platform';

/** An agent heard from within this long is live (agents heartbeat every 5 s by default). */
export const AGENT_STALE_AFTER_MS = 15_000;

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
      const text = raw[String(node)];
      let e: AgentRegistryEntry | null = null;
      try {
        e = text ? (JSON.parse(text) as AgentRegistryEntry) : null;
      } catch {
        e = null; // an unreadable entry reads as never heard
      }
      if (!e) {
        agents.push({ node, status: 'missing', ranks: [], lastSeen: null, ageMs: null, principal: null, heldVersions: null });
        continue;
      }
      const ageMs = Math.max(0, now - e.lastSeenMs);
      const status = ageMs > AGENT_STALE_AFTER_MS ? 'stale' : e.connected ? 'connected' : 'kafka-only';
      agents.push({ node, status, ranks: e.ranks, lastSeen: new Date(e.lastSeenMs).toISOString(), ageMs, principal: e.principal, heldVersions: e.heldVersions });
    }
    return { deployment: dep, staleAfterMs: AGENT_STALE_AFTER_MS, agents };
  }
}
