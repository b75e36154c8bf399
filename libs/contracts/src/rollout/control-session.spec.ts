import { describe, expect, it } from 'vitest';
import { agentSession, deriveSessionKeys, isEphemeralKeyText, newEphemeralKey, serviceSession, SessionOpener, SessionSealer } from './control-session';

/** Both ends of one connection, keyed as the hello and welcome key them. */
function connection() {
  const agent = newEphemeralKey();
  const service = newEphemeralKey();
  const a = agentSession(deriveSessionKeys(agent.privateKey, service.publicText, agent.publicText, service.publicText));
  const s = serviceSession(deriveSessionKeys(service.privateKey, agent.publicText, agent.publicText, service.publicText));
  return { agent: a, service: s };
}

const ack = JSON.stringify({ v: 1, type: 'ack', node: 2 });

describe('control session', () => {
  it('both ends derive the same keys: lines sealed by one are opened by the other, in both directions', () => {
    const { agent, service } = connection();
    for (let i = 0; i < 3; i++) expect(service.opener.open(agent.sealer.seal(`${ack}${i}`))).toEqual({ ok: true, value: `${ack}${i}` });
    expect(agent.opener.open(service.sealer.seal('{"kind":"commit"}'))).toEqual({ ok: true, value: '{"kind":"commit"}' });
  });

  it('refuses a forged MAC, a changed message, and a line that is not SEQ MAC JSON', () => {
    const { agent, service } = connection();
    const line = agent.sealer.seal(ack);
    const [seq, mac] = line.split(' ');
    const forged = `${seq} ${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'} ${ack}`;
    expect(service.opener.open(forged)).toEqual({ ok: false, reason: 'MAC does not verify with this connection\'s key' });
    expect(service.opener.open(line.replace('"node":2', '"node":3'))).toEqual({ ok: false, reason: 'MAC does not verify with this connection\'s key' });
    for (const bad of [ack, `x ${ack}`, `1 short ${ack}`, `01 ${mac} ${ack}`, '', `1 ${mac}`]) expect(service.opener.open(bad).ok).toBe(false);
    // none of the refused lines moved the sequence on: the genuine one is still next
    expect(service.opener.open(line)).toEqual({ ok: true, value: ack });
  });

  it('refuses a replayed line and one out of sequence', () => {
    const { agent, service } = connection();
    const first = agent.sealer.seal(ack);
    const second = agent.sealer.seal(ack);
    const third = agent.sealer.seal(ack);
    expect(service.opener.open(first).ok).toBe(true);
    expect(service.opener.open(first)).toEqual({ ok: false, reason: 'sequence 1 where 2 was next (a replayed or reordered line)' });
    expect(service.opener.open(third)).toEqual({ ok: false, reason: 'sequence 3 where 2 was next (a replayed or reordered line)' });
    expect(service.opener.open(second).ok).toBe(true);
    expect(service.opener.open(third).ok).toBe(true);
  });

  it('refuses a line of another connection (other keys) and a line sent back the way it came (the other direction\'s key)', () => {
    const one = connection();
    const other = connection();
    expect(other.service.opener.open(one.agent.sealer.seal(ack))).toEqual({ ok: false, reason: 'MAC does not verify with this connection\'s key' });
    // the service's own command reflected back to it as if the agent had sent it
    expect(one.service.opener.open(one.service.sealer.seal(ack))).toEqual({ ok: false, reason: 'MAC does not verify with this connection\'s key' });
  });

  it('keys depend on both ephemeral keys as exchanged: a substituted key derives other keys', () => {
    const agent = newEphemeralKey();
    const service = newEphemeralKey();
    const mallory = newEphemeralKey();
    const k = deriveSessionKeys(agent.privateKey, service.publicText, agent.publicText, service.publicText);
    const substituted = deriveSessionKeys(mallory.privateKey, service.publicText, agent.publicText, service.publicText);
    expect(substituted.agentToService.equals(k.agentToService)).toBe(false);
    const sealed = new SessionSealer(substituted.agentToService).seal(ack);
    expect(new SessionOpener(k.agentToService).open(sealed).ok).toBe(false);
  });

  it('refuses malformed and degenerate peer keys', () => {
    const own = newEphemeralKey();
    expect(isEphemeralKeyText(own.publicText)).toBe(true);
    expect(isEphemeralKeyText('abc')).toBe(false);
    expect(() => deriveSessionKeys(own.privateKey, 'not a key', own.publicText, 'not a key')).toThrow(/not an X25519 public key/);
    // the all-zero point has small order: the shared secret would be zero
    const zero = Buffer.alloc(32).toString('base64');
    expect(() => deriveSessionKeys(own.privateKey, zero, own.publicText, zero)).toThrow();
  });
});
