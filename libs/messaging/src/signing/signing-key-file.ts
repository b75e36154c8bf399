import { createPrivateKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The private keys that sign rollout messages (the rollout service's, each agent's) live in PEM
 * files (PKCS#8, Ed25519) readable by their owner only; the database never holds them.
 */

/** The Ed25519 private key in the PEM file at `path`; throws naming the file otherwise. */
export function readSigningKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (e) {
    throw new Error(`signing key ${path}: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`signing key ${path} is ${String(key.asymmetricKeyType)}, not ed25519`);
  return key;
}

/**
 * The key in `path`, generated there first when there is none (mode 0600). Written under a
 * temporary name and linked into place, so two processes starting together end up with the
 * same key and a crash never leaves half a file.
 */
export function loadOrCreateSigningKey(path: string): { key: KeyObject; created: boolean } {
  try {
    return { key: readSigningKey(path), created: false };
  } catch (e) {
    if (!(e instanceof Error) || !/ENOENT/.test(e.message)) throw e;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  let created = true;
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    created = false; // another process got there first: its key is the one
  } finally {
    unlinkSync(tmp);
  }
  return { key: readSigningKey(path), created };
}
