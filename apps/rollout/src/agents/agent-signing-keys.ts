import { Injectable } from '@nestjs/common';
import { RolloutAckV1, signedWithOneOf } from '@eplb/contracts';
import { ApiTokenRepository } from '@eplb/persistence';

/** How long the signing keys of a node are trusted before they are read again (a revoked token stops working within this). */
const SIGNING_KEYS_TTL_MS = 10_000;

/**
 * The keys (token hashes) of the tokens that may act for a node — those the control channel would
 * accept in its hello for it: what agents sign their Kafka messages with, and what the service
 * signs each command for. Read per node and cached.
 */
@Injectable()
export class AgentSigningKeys {
  /** Per `deployment/node`: the keys and when they were read. */
  private readonly keys = new Map<string, { keys: string[]; at: number }>();

  constructor(private readonly tokens: ApiTokenRepository) {}

  /** Trusted for SIGNING_KEYS_TTL_MS; `fresh` re-reads keys older than a second (a token issued since). */
  async of(deployment: string, node: number, fresh = false): Promise<string[]> {
    const key = `${deployment}/${node}`;
    const entry = this.keys.get(key);
    const age = entry ? Date.now() - entry.at : Infinity;
    if (entry && age <= SIGNING_KEYS_TTL_MS && !(fresh && age >= 1_000)) return entry.keys;
    const keys = await this.tokens.signingKeysFor(deployment, node);
    this.keys.set(key, { keys, at: Date.now() });
    return keys;
  }

  /** Whether an agent message read from Kafka is signed (AGENT_SIGNATURE_HEADER) with a key of its node. */
  async signedForItsNode(m: RolloutAckV1, value: Buffer, signature: string | undefined): Promise<boolean> {
    if (signedWithOneOf(await this.of(m.deployment, m.node), value, signature)) return true;
    return signedWithOneOf(await this.of(m.deployment, m.node, true), value, signature);
  }
}
