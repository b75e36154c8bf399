import { describe, expect, it } from 'vitest';
import { loadRolloutSettings } from './rollout-settings';

describe('loadRolloutSettings', () => {
  const tls = { ROLLOUT_CONTROL_TLS_CERT: '/k/cert.pem', ROLLOUT_CONTROL_TLS_KEY: '/k/key.pem' };

  it('in production refuses to start without TLS on the control channel, naming what to set', () => {
    expect(() => loadRolloutSettings({ NODE_ENV: 'production', ROLLOUT_SIGNING_KEY_FILE: '/k/sign.pem' })).toThrow(/^ROLLOUT_CONTROL_TLS_CERT\/KEY are required in production/);
  });

  it('in production refuses to start without its own signing key (no generated development key)', () => {
    expect(() => loadRolloutSettings({ NODE_ENV: 'production', ...tls })).toThrow(/^ROLLOUT_SIGNING_KEY_FILE is required in production/);
    expect(loadRolloutSettings({ NODE_ENV: 'production', ...tls, ROLLOUT_SIGNING_KEY_FILE: '/k/sign.pem' }).ROLLOUT_SIGNING_KEY_FILE).toBe('/k/sign.pem');
  });

  it('outside production, plain TCP and the development key are allowed', () => {
    expect(loadRolloutSettings({ NODE_ENV: 'development' }).ROLLOUT_CONTROL_TLS_CERT).toBeUndefined();
  });
});
