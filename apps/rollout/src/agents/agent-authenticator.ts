import { Injectable } from '@nestjs/common';
import { parseAgentHello } from '@eplb/contracts';
import { ranksOfAgent, sameRanks } from '@eplb/domain';
import { Authentication } from '@eplb/messaging';
import { ApiTokenRepository, DeploymentRepository, shapeOf } from '@eplb/persistence';
import { RolloutInstance } from '../rollout-instance';

/** Who is at the other end of a control-channel connection (from its hello, after its token checked). */
export interface AgentPeer {
  readonly deployment: string;
  readonly node: number;
  readonly ranks: number[];
  readonly principal: string;
}

/**
 * Checks an agent's hello on the control channel: an active agent or operator token, scoped (if
 * it is) to the deployment and node named, a node of that deployment, and exactly its ranks.
 */
@Injectable()
export class AgentAuthenticator {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly deployments: DeploymentRepository,
    private readonly instance: RolloutInstance,
  ) {}

  async authenticate(line: string): Promise<Authentication<AgentPeer>> {
    const p = parseAgentHello(line);
    if (!p.ok) return { ok: false, reason: `hello: ${p.reason}` };
    const h = p.message;
    const principal = await this.tokens.findActive(h.token);
    if (!principal || (principal.role !== 'agent' && principal.role !== 'operator')) return { ok: false, reason: 'token not accepted (needs an active agent or operator token)' };
    const scope = principal.scope;
    if (scope && (scope.deployment !== h.deployment || (scope.node !== undefined && scope.node !== h.node))) {
      return { ok: false, reason: `token is scoped to ${scope.deployment}${scope.node !== undefined ? ` node ${scope.node}` : ''}, not ${h.deployment} node ${h.node}` };
    }
    const dep = await this.deployments.find(h.deployment);
    if (!dep) return { ok: false, reason: `deployment ${h.deployment} does not exist` };
    if (h.node >= dep.numNodes) return { ok: false, reason: `node ${h.node} is not a node of ${h.deployment} (it has ${dep.numNodes})` };
    const own = ranksOfAgent(shapeOf(dep), h.node);
    if (!sameRanks(h.ranks, own)) {
      return { ok: false, reason: `node ${h.node} serves ranks [${own.join(',')}], not [${h.ranks.join(',')}]` };
    }
    return {
      ok: true,
      peer: { deployment: h.deployment, node: h.node, ranks: own, principal: principal.name },
      welcome: { v: 1, type: 'welcome', instance: this.instance.id },
    };
  }
}
