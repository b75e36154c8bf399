import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPublicKey } from '@eplb/contracts';
import { loadOrCreateSigningKey, readSigningKey } from '@eplb/messaging';
import { DEV_ROLLOUT_SIGNING_KEY_FILE } from '@eplb/platform';
import type { AgentSettings } from './agent-settings';

/** The keys an agent signs and verifies rollout messages with (AgentRuntimeOptions.keys). */
export interface AgentKeys {
  /** The agent's private key: signs everything it sends. */
  readonly own: KeyObject;
  /** The rollout service's pinned public key: a command runs only when it verifies. */
  readonly service: KeyObject;
  /** Where the agent's key came from, for the start-up log. */
  readonly ownFrom: string;
  readonly serviceFrom: string;
}

/**
 * Reads the agent's keys from its settings. Its own: AGENT_KEY_FILE, else a key generated on
 * first start in its state directory (it must survive restarts: the service trusts the key the
 * agent enrolled); with no state kept (AGENT_STATE_EPHEMERAL), outside production only, a key for this process alone (enrolled
 * again at every start). The service's: AGENT_SERVICE_PUBLIC_KEY or its file, else (outside
 * production) the development key the rollout service generates. In production both are required.
 */
export function loadAgentKeys(s: AgentSettings, production: boolean, deployment: string, node: number): AgentKeys {
  let own: KeyObject;
  let ownFrom: string;
  if (s.AGENT_KEY_FILE) {
    own = readSigningKey(s.AGENT_KEY_FILE);
    ownFrom = s.AGENT_KEY_FILE;
  } else if (!s.AGENT_STATE_EPHEMERAL) {
    ownFrom = join(s.AGENT_STATE_DIR, `agent-${deployment}-node${node}.key`);
    own = loadOrCreateSigningKey(ownFrom).key;
  } else if (production) {
    throw new Error('AGENT_KEY_FILE or a kept AGENT_STATE_DIR is required in production (not AGENT_STATE_EPHEMERAL): the agent signs its messages with a key kept across restarts');
  } else {
    own = generateKeyPairSync('ed25519').privateKey;
    ownFrom = 'generated for this process (AGENT_STATE_EPHEMERAL)';
  }
  let service: KeyObject;
  let serviceFrom: string;
  if (s.AGENT_SERVICE_PUBLIC_KEY) {
    service = readPublicKey(s.AGENT_SERVICE_PUBLIC_KEY);
    serviceFrom = 'AGENT_SERVICE_PUBLIC_KEY';
  } else if (s.AGENT_SERVICE_PUBLIC_KEY_FILE) {
    service = readPublicKey(readFileSync(s.AGENT_SERVICE_PUBLIC_KEY_FILE, 'utf8').trim());
    serviceFrom = s.AGENT_SERVICE_PUBLIC_KEY_FILE;
  } else if (production) {
    throw new Error('AGENT_SERVICE_PUBLIC_KEY (or _FILE) is required in production: the rollout service\'s public key, pinned so only its commands run');
  } else {
    service = createPublicKey(loadOrCreateSigningKey(DEV_ROLLOUT_SIGNING_KEY_FILE).key);
    serviceFrom = `${DEV_ROLLOUT_SIGNING_KEY_FILE} (development)`;
  }
  return { own, service, ownFrom, serviceFrom };
}
