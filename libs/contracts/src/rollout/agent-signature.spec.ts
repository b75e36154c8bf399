import { describe, expect, it } from 'vitest';
import { agentSigningKey, signAgentMessage, signedWithOneOf, signForEach } from './agent-signature';

describe('agent message signatures', () => {
  const key = agentSigningKey('eplb_token-of-node-3');
  const value = JSON.stringify({ v: 1, type: 'ack', deployment: 'd', node: 3 });

  it('accepts the HMAC of the exact value under one of the keys', () => {
    const sig = signAgentMessage(key, value);
    expect(signedWithOneOf([agentSigningKey('other'), key], value, sig)).toBe(true);
    expect(signedWithOneOf([key], Buffer.from(value), sig)).toBe(true);
  });

  it('refuses a missing, malformed or foreign signature, another key, a changed value', () => {
    const sig = signAgentMessage(key, value);
    expect(signedWithOneOf([key], value, undefined)).toBe(false);
    expect(signedWithOneOf([key], value, 'zz')).toBe(false);
    expect(signedWithOneOf([key], value, sig.toUpperCase())).toBe(false);
    expect(signedWithOneOf([agentSigningKey('other')], value, sig)).toBe(false);
    expect(signedWithOneOf([], value, sig)).toBe(false);
    expect(signedWithOneOf([key], value.replace('"node":3', '"node":4'), sig)).toBe(false);
  });

  it('takes a comma-separated list of signatures (commands: one per key of the node), any one matching', () => {
    const other = agentSigningKey('eplb_token-of-node-4');
    const header = signForEach([other, key], value);
    expect(header.split(',')).toHaveLength(2);
    expect(signedWithOneOf([key], value, header)).toBe(true);
    expect(signedWithOneOf([agentSigningKey('eplb_token-of-node-5')], value, header)).toBe(false);
    expect(signedWithOneOf([key], value, `zz,${signAgentMessage(key, value)}`)).toBe(true);
    expect(signedWithOneOf([key], value, ',')).toBe(false);
  });

  it('signs with the SHA-256 of the token, which is what the token store keeps', () => {
    expect(agentSigningKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
