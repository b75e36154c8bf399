import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { ControlSessionCrypto, ControlWelcomeV1, deriveSessionKeys, newEphemeralKey, parseAgentHello, readPublicKey, readSignedLine, serviceSession, signedLine, signRolloutMessage, verifyRolloutMessage } from '@eplb/contracts';
import { ranksOfAgent, sameRanks } from '@eplb/domain';
import { Authentication } from '@eplb/messaging';
import { AgentKeyRepository, ApiTokenRepository, DeploymentRepository, shapeOf } from '@eplb/persistence';
import { APP_CONFIG, AppConfig } from '@eplb/platform';
import { RolloutInstance } from '../rollout-instance';
import { AgentPublicKeys } from './agent-public-keys';
import { ServiceSigningKey } from './service-signing-key';

/** Who is at the other end of a control-channel connection (from its hello, after its token checked). */
export interface AgentPeer {
  readonly deployment: string;
  readonly node: number;
  readonly ranks: number[];
  readonly principal: string;
  /** The key the agent enrolled in its hello: what it signs its messages on Kafka with. */
  readonly publicKey: KeyObject;
  /** This connection's MAC keys (control-session): every line after the welcome is sealed and opened with them. */
  readonly session: ControlSessionCrypto;
}

/**
 * Checks an agent's hello on the control channel: signed with the key it names (the agent holds
 * it), an active agent token scoped to the deployment and node named (outside production an
 * operator token too, so a development box needs no issuing), a node of that deployment, and
 * exactly its ranks — then enrols the agent's public key for its node, trusted while that token
 * is, and answers with a welcome signed by the service's key that completes the connection's key
 * exchange (libs/contracts control-session).
 */
@Injectable()
export class AgentAuthenticator {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly deployments: DeploymentRepository,
    private readonly instance: RolloutInstance,
    private readonly agentKeys: AgentKeyRepository,
    private readonly publicKeys: AgentPublicKeys,
    private readonly signingKey: ServiceSigningKey,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async authenticate(line: string): Promise<Authentication<AgentPeer>> {
    const { signature, value } = readSignedLine(line);
    const p = parseAgentHello(value);
    if (!p.ok) return { ok: false, reason: `hello: ${p.reason}` };
    const h = p.message;
    const principal = await this.tokens.findActive(h.token);
    if (!principal || (principal.role !== 'agent' && principal.role !== 'operator')) return { ok: false, reason: 'token not accepted (needs an active agent or operator token)' };
    const scope = principal.scope;
    // a leaked agent token must not speak for other nodes; the operator's token stays with the API
    if (principal.role === 'agent' && scope?.node === undefined) return { ok: false, reason: 'agent tokens must be scoped to one node: issue one with --deployment ID --node N' };
    if (principal.role === 'operator' && this.config.NODE_ENV === 'production') return { ok: false, reason: 'operator tokens are not accepted from agents in production: present the node\'s agent token' };
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
    let publicKey: KeyObject;
    try {
      publicKey = readPublicKey(h.publicKey);
    } catch (e) {
      return { ok: false, reason: `hello: publicKey: ${(e as Error).message}` };
    }
    // the hello's signature proves the agent holds the key it enrols and binds its ephemeral key to it
    if (!verifyRolloutMessage(publicKey, value, signature)) return { ok: false, reason: 'hello: not signed by the key it names (publicKey)' };
    const ephemeral = newEphemeralKey();
    let session: ControlSessionCrypto;
    try {
      session = serviceSession(deriveSessionKeys(ephemeral.privateKey, h.ephemeral, h.ephemeral, ephemeral.publicText));
    } catch (e) {
      return { ok: false, reason: `hello: ephemeral: ${(e as Error).message}` };
    }
    await this.agentKeys.enrol(
      { deployment: h.deployment, node: h.node, publicKey: h.publicKey, tokenId: principal.tokenId },
      { actor: `token:${principal.name}`, reason: `agent of node ${h.node} enrolled its signing key on the control channel`, correlationId: this.instance.id },
    );
    this.publicKeys.enrolled(h.deployment, h.node, publicKey);
    const welcome: ControlWelcomeV1 = { v: 1, type: 'welcome', instance: this.instance.id, ephemeral: ephemeral.publicText, agentEphemeral: h.ephemeral };
    const welcomeText = JSON.stringify(welcome);
    return {
      ok: true,
      peer: { deployment: h.deployment, node: h.node, ranks: own, principal: principal.name, publicKey, session },
      welcome: signedLine(signRolloutMessage(this.signingKey.privateKey, welcomeText), welcomeText),
    };
  }
}
