import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import { publicKeyText } from '@eplb/contracts';
import { loadOrCreateSigningKey, readSigningKey } from '@eplb/messaging';
import { DEV_ROLLOUT_SIGNING_KEY_FILE } from '@eplb/platform';
import type { RolloutSettings } from '../rollout-settings';

/**
 * The key the service signs agent commands with (ROLLOUT_SIGNING_KEY_FILE; outside production a
 * development key generated on first use). Agents pin its public half; the database never sees it.
 */
export class ServiceSigningKey {
  readonly publicKey: KeyObject;
  /** The public half as agents are given it (base64 DER). */
  readonly publicKeyText: string;

  constructor(readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    this.publicKeyText = publicKeyText(this.publicKey);
  }

  static load(settings: RolloutSettings, logger: Logger): ServiceSigningKey {
    if (settings.ROLLOUT_SIGNING_KEY_FILE) return new ServiceSigningKey(readSigningKey(settings.ROLLOUT_SIGNING_KEY_FILE));
    const { key, created } = loadOrCreateSigningKey(DEV_ROLLOUT_SIGNING_KEY_FILE);
    const out = new ServiceSigningKey(key);
    logger.warn({ path: DEV_ROLLOUT_SIGNING_KEY_FILE, created, publicKey: out.publicKeyText }, 'commands signed with the development key (set ROLLOUT_SIGNING_KEY_FILE)');
    return out;
  }
}
