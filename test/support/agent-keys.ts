import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { DataSource } from 'typeorm';
import { publicKeyText } from '@eplb/contracts';
import { loadOrCreateSigningKey } from '@eplb/messaging';
import { AgentKeyRepository } from '@eplb/persistence';
import { DEV_ROLLOUT_SIGNING_KEY_FILE } from '@eplb/platform';

/**
 * Keys for an agent in a test: a fresh key pair of its own, and the rollout service's pinned
 * public key — the development key an in-process rollout service signs with (no
 * ROLLOUT_SIGNING_KEY_FILE in tests).
 */
export function agentKeys(): { own: KeyObject; service: KeyObject } {
  return { own: generateKeyPairSync('ed25519').privateKey, service: createPublicKey(loadOrCreateSigningKey(DEV_ROLLOUT_SIGNING_KEY_FILE).key) };
}

/** Enrols an agent's public key as an operator would for an agent on Kafka alone (no control channel to enrol on). */
export async function enrolAgentKey(ds: DataSource, deployment: string, node: number, own: KeyObject): Promise<void> {
  await new AgentKeyRepository(ds).enrol({ deployment, node, publicKey: publicKeyText(own), tokenId: null }, { actor: 'test', reason: 'agent on Kafka only', correlationId: 'test' });
}
