import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey, readSigningKey } from './signing-key-file';

describe('signing key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eplb-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates an Ed25519 key owner-readable on first use and reads the same one after', () => {
    const path = join(dir, 'sub', 'service.key');
    const first = loadOrCreateSigningKey(path);
    expect(first.created).toBe(true);
    expect(first.key.asymmetricKeyType).toBe('ed25519');
    expect(statSync(path).mode & 0o077).toBe(0);
    const again = loadOrCreateSigningKey(path);
    expect(again.created).toBe(false);
    expect(createPublicKey(again.key).equals(createPublicKey(first.key))).toBe(true);
  });

  it('refuses a file that is not an Ed25519 private key, naming it', () => {
    const rsa = join(dir, 'rsa.key');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect(() => readSigningKey(rsa)).toThrow(`signing key ${rsa} is rsa, not ed25519`);
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'junk');
    expect(() => loadOrCreateSigningKey(junk)).toThrow(`signing key ${junk}`);
  });
});
