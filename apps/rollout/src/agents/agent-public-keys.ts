import { Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { readPublicKey, verifyRolloutMessage } from '@eplb/contracts';
import { AgentKeyRepository } from '@eplb/persistence';

/** How long a node's key is trusted before it is read again (a revoked token's key stops working within this). */
const PUBLIC_KEY_TTL_MS = 10_000;

/**
 * The public keys agents enrolled for their nodes (AgentKeyRepository): what their messages on
 * Kafka are verified with. Read per node and cached; a key enrolled on this instance's control
 * channel is known at once.
 */
@Injectable()
export class AgentPublicKeys {
  /** Per `deployment/node`: the key (null: none enrolled) and when it was read. */
  private readonly keys = new Map<string, { key: KeyObject | null; at: number }>();

  constructor(private readonly repo: AgentKeyRepository) {}

  /** A key this instance just enrolled (the control channel's hello). */
  enrolled(deployment: string, node: number, key: KeyObject): void {
    this.keys.set(`${deployment}/${node}`, { key, at: Date.now() });
  }

  /** Whether `signature` is the node's agent's signature of `value`; a miss re-reads a key older than a second (enrolled elsewhere since). */
  async verify(deployment: string, node: number, value: Buffer | string, signature: string | undefined): Promise<boolean> {
    const k = `${deployment}/${node}`;
    const cached = this.keys.get(k);
    const age = cached ? Date.now() - cached.at : Infinity;
    if (cached && age <= PUBLIC_KEY_TTL_MS && cached.key && verifyRolloutMessage(cached.key, value, signature)) return true;
    if (cached && age < 1_000) return false;
    const text = await this.repo.find(deployment, node);
    const key = text ? readPublicKey(text) : null;
    this.keys.set(k, { key, at: Date.now() });
    return key !== null && verifyRolloutMessage(key, value, signature);
  }
}
