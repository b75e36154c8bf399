import { Injectable } from '@nestjs/common';
import { AgentKeyResponse, publicKeyText, readPublicKey } from '@eplb/contracts';
import { invalid } from '@eplb/domain';
import { AgentKeyRepository, DeploymentRepository, EventMeta } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';

/**
 * An operator registers a node's agent public key. An agent that speaks only over Kafka never
 * sends the control channel's hello that enrols its key, and the rollout service drops its
 * unsigned-by-a-known-key acks; this is how such an agent becomes trusted. A key registered here
 * is tied to no token (revoking the agent's token does not untrust it; registering another key
 * replaces it).
 */
@Injectable()
export class EnrolAgentKeyUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly keys: AgentKeyRepository,
  ) {}

  async execute(dep: string, node: number, publicKey: string, meta: EventMeta): Promise<AgentKeyResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    if (node >= d.numNodes) throw invalid('node', `deployment ${dep} has nodes 0..${d.numNodes - 1}, not ${node}`);
    let text: string;
    try {
      // stored as the service reads it (base64 DER), whichever form it came in
      text = publicKeyText(readPublicKey(publicKey.trim()));
    } catch (e) {
      throw invalid('publicKey', `not an Ed25519 public key (PEM or base64 DER): ${(e as Error).message}`);
    }
    const changed = await this.keys.enrol({ deployment: dep, node, publicKey: text, tokenId: null }, meta);
    return { deployment: dep, node, publicKey: text, changed };
  }
}
