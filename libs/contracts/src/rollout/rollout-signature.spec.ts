import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyText, readPublicKey, readSignedLine, signedLine, signRolloutMessage, verifyRolloutMessage } from './rollout-signature';

describe('rollout message signatures (Ed25519)', () => {
  const service = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const value = JSON.stringify({ v: 1, deployment: 'd', rolloutId: 'r1', rolloutSeq: 1, generation: 2, expiresAt: 3 });

  it('verifies only the exact bytes, only under the signer\'s public key', () => {
    const sig = signRolloutMessage(service.privateKey, value);
    expect(verifyRolloutMessage(service.publicKey, value, sig)).toBe(true);
    expect(verifyRolloutMessage(service.publicKey, value.replace('"generation":2', '"generation":9'), sig)).toBe(false);
    expect(verifyRolloutMessage(other.publicKey, value, sig)).toBe(false);
    expect(verifyRolloutMessage(service.publicKey, value, signRolloutMessage(other.privateKey, value))).toBe(false);
    expect(verifyRolloutMessage(service.publicKey, value, undefined)).toBe(false);
    expect(verifyRolloutMessage(service.publicKey, value, 'not base64 at all')).toBe(false);
  });

  it('a public key travels as base64 DER and reads back (PEM too); other key types are refused', () => {
    const text = publicKeyText(service.publicKey);
    expect(readPublicKey(text).equals(service.publicKey)).toBe(true);
    expect(readPublicKey(service.publicKey.export({ format: 'pem', type: 'spki' }).toString()).equals(service.publicKey)).toBe(true);
    expect(publicKeyText(service.privateKey)).toBe(text);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => readPublicKey(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow(/not ed25519/);
  });

  it('a signed control-channel line splits back into signature and JSON; a plain JSON line has none', () => {
    const sig = signRolloutMessage(service.privateKey, value);
    expect(readSignedLine(signedLine(sig, value))).toEqual({ signature: sig, value });
    expect(readSignedLine(value)).toEqual({ signature: undefined, value });
  });
});
