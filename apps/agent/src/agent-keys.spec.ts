import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publicKeyText } from '@eplb/contracts';
import { loadAgentKeys } from './agent-keys';
import { loadAgentSettings } from './agent-settings';

describe('loadAgentKeys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eplb-agent-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const service = generateKeyPairSync('ed25519');

  it('generates the agent\'s key in its state directory once and keeps it across starts; pins the service key given', () => {
    const s = loadAgentSettings({ AGENT_STATE_DIR: dir, AGENT_SERVICE_PUBLIC_KEY: publicKeyText(service.publicKey) });
    const first = loadAgentKeys(s, true, 'd', 1);
    expect(first.ownFrom).toBe(join(dir, 'agent-d-node1.key'));
    expect(first.service.equals(service.publicKey)).toBe(true);
    const again = loadAgentKeys(s, true, 'd', 1);
    expect(createPublicKey(again.own).equals(createPublicKey(first.own))).toBe(true);
  });

  it('reads the service key from a PEM file', () => {
    const file = join(dir, 'service.pub');
    writeFileSync(file, service.publicKey.export({ format: 'pem', type: 'spki' }));
    const keys = loadAgentKeys(loadAgentSettings({ AGENT_STATE_DIR: dir, AGENT_SERVICE_PUBLIC_KEY_FILE: file }), true, 'd', 0);
    expect(keys.service.equals(service.publicKey)).toBe(true);
  });

  it('in production refuses to start without a key kept across restarts or without the pinned service key', () => {
    expect(() => loadAgentKeys(loadAgentSettings({ AGENT_STATE_EPHEMERAL: 'true', AGENT_SERVICE_PUBLIC_KEY: publicKeyText(service.publicKey) }), true, 'd', 0)).toThrow(
      /^AGENT_KEY_FILE or a kept AGENT_STATE_DIR is required in production/,
    );
    expect(() => loadAgentKeys(loadAgentSettings({ AGENT_STATE_DIR: dir }), true, 'd', 0)).toThrow(/^AGENT_SERVICE_PUBLIC_KEY \(or _FILE\) is required in production/);
  });
});
