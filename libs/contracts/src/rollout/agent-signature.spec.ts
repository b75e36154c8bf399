import { describe, expect, it } from 'vitest';
import { agentSignatureValid, agentSigningKey, signAgentMessage } from './agent-signature';

describe('agent message signatures', () => {
  const key = agentSigningKey('eplb_token-of-node-3');
  const value = JSON.stringify({ v: 1, type: 'ack', deployment: 'd', node: 3 });

  it('accepts the HMAC of the exact value under one of the keys', () => {
    const sig = signAgentMessage(key, value);
    expect(agentSignatureValid([agentSigningKey('other'), key], value, sig)).toBe(true);
    expect(agentSignatureValid([key], Buffer.from(value), sig)).toBe(true);
  });

  it('refuses a missing, malformed or foreign signature, another key, a changed value', () => {
    const sig = signAgentMessage(key, value);
    expect(agentSignatureValid([key], value, undefined)).toBe(false);
    expect(agentSignatureValid([key], value, 'zz')).toBe(false);
    expect(agentSignatureValid([key], value, sig.toUpperCase())).toBe(false);
    expect(agentSignatureValid([agentSigningKey('other')], value, sig)).toBe(false);
    expect(agentSignatureValid([], value, sig)).toBe(false);
    expect(agentSignatureValid([key], value.replace('"node":3', '"node":4'), sig)).toBe(false);
  });

  it('signs with the SHA-256 of the token, which is what the token store keeps', () => {
    expect(agentSigningKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
