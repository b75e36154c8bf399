import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * The direct control channel's session protocol (docs/design.md, "Control channel"): Ed25519 once
 * per connection, an HMAC per line after that.
 *
 * 1. hello (agent → service): `SIGNATURE JSON`, the agent's Ed25519 signature (its enrolled key,
 *    whose public half the hello carries) of a hello naming a fresh X25519 public key (`ephemeral`)
 *    made for this connection alone.
 * 2. welcome (service → agent): `SIGNATURE JSON`, the service's Ed25519 signature (the key agents
 *    pin) of a welcome naming its own fresh X25519 key and echoing the agent's (`agentEphemeral`):
 *    the agent learns the service answered this connection, not a recorded one.
 * 3. Both compute the X25519 shared secret of the two ephemeral keys and derive with HKDF-SHA256
 *    (salt: both ephemeral keys, agent's first) one HMAC-SHA256 key per direction. Nobody without
 *    one of the ephemeral private keys (never stored, never sent) can compute them; each side's
 *    ephemeral key is bound to its long-term identity by its Ed25519 signature.
 * 4. Every later line, both ways: `SEQ MAC JSON` — SEQ the line's number in its direction on this
 *    connection (1, 2, 3, …), MAC the base64url HMAC-SHA256 of `SEQ JSON` with the direction's key.
 *    The receiver takes a line only with a valid MAC and exactly the next SEQ: a line replayed on
 *    its connection, reordered or dropped-and-resent is refused (its SEQ is not the next); a line
 *    of another connection, or of this one's other direction, fails its MAC (other keys).
 *
 * The messages inside keep their own binding (rollout, generation, expiry): the MAC says who sent
 * a line on this connection, the message still says what it is valid for. Kafka, which has no
 * connection to key, keeps an Ed25519 signature per message (rollout-signature).
 */

/** An X25519 public key as the hello and welcome carry it: base64 of its 32 raw bytes. */
const EPHEMERAL = /^[A-Za-z0-9+/]{43}=$/;
/** The fixed DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410); the raw key follows. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** One side's key for one connection: made fresh for it, forgotten with it. */
export interface EphemeralKey {
  readonly privateKey: KeyObject;
  /** What the hello or welcome carries (base64 of the raw public key). */
  readonly publicText: string;
}

export function newEphemeralKey(): EphemeralKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicText: der.subarray(X25519_SPKI_PREFIX.length).toString('base64') };
}

/** Whether `text` has the form of an ephemeral public key (32 bytes of base64). */
export const isEphemeralKeyText = (text: unknown): text is string => typeof text === 'string' && EPHEMERAL.test(text);

const ephemeralPublicKey = (text: string): KeyObject => {
  if (!isEphemeralKeyText(text)) throw new Error('not an X25519 public key (32 bytes, base64)');
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, Buffer.from(text, 'base64')]), format: 'der', type: 'spki' });
};

/** The two keys of one connection: what the agent sends is MACed with one, what the service sends with the other. */
export interface SessionKeys {
  readonly agentToService: Buffer;
  readonly serviceToAgent: Buffer;
}

/**
 * The connection's keys from one side's ephemeral private key and the other side's public one.
 * `agentEphemeral` and `serviceEphemeral` are the two public texts as exchanged (both sides derive
 * the same keys). Throws on a malformed peer key or a degenerate shared secret.
 */
export function deriveSessionKeys(own: KeyObject, peerEphemeral: string, agentEphemeral: string, serviceEphemeral: string): SessionKeys {
  const secret = diffieHellman({ privateKey: own, publicKey: ephemeralPublicKey(peerEphemeral) });
  // a small-order peer key yields all zeros: refuse it rather than key a MAC with nothing secret
  if (secret.every((b) => b === 0)) throw new Error('X25519 shared secret is zero');
  const salt = Buffer.from(`${agentEphemeral} ${serviceEphemeral}`);
  const key = (info: string) => Buffer.from(hkdfSync('sha256', secret, salt, `eplb control channel v1: ${info}`, 32));
  return { agentToService: key('agent to service'), serviceToAgent: key('service to agent') };
}

const mac = (key: Buffer, seq: number, value: string): string => createHmac('sha256', key).update(`${seq} ${value}`).digest('base64url');

/** The sending half of one direction of a connection: numbers and MACs each line it writes. */
export class SessionSealer {
  private seq = 0;

  constructor(private readonly key: Buffer) {}

  /** The line for `value` (a JSON text): `SEQ MAC JSON`. Each call takes the next number. */
  seal(value: string): string {
    const seq = ++this.seq;
    return `${seq} ${mac(this.key, seq, value)} ${value}`;
  }
}

export type SessionOpen = { ok: true; value: string } | { ok: false; reason: string };

/** A MAC of HMAC-SHA256 in base64url: 43 characters. */
const MAC_LENGTH = 43;
const MAX_SEQ_DIGITS = 15;

/** The receiving half of one direction of a connection: takes a line only with its MAC and the next number. */
export class SessionOpener {
  private seq = 0;

  constructor(private readonly key: Buffer) {}

  /** The JSON text of `line`, or why it is refused (a refused line does not move the sequence on). */
  open(line: string): SessionOpen {
    const space = line.indexOf(' ');
    if (space <= 0 || space > MAX_SEQ_DIGITS || line.length < space + 1 + MAC_LENGTH + 2 || line[space + 1 + MAC_LENGTH] !== ' ') {
      return { ok: false, reason: 'not a session line (SEQ MAC JSON)' };
    }
    const seqText = line.slice(0, space);
    if (!/^[1-9][0-9]*$/.test(seqText)) return { ok: false, reason: 'not a session line (SEQ MAC JSON)' };
    const seq = Number(seqText);
    const given = Buffer.from(line.slice(space + 1, space + 1 + MAC_LENGTH));
    const value = line.slice(space + 2 + MAC_LENGTH);
    const expected = Buffer.from(mac(this.key, seq, value));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'MAC does not verify with this connection\'s key' };
    if (seq !== this.seq + 1) return { ok: false, reason: `sequence ${seq} where ${this.seq + 1} was next (a replayed or reordered line)` };
    this.seq = seq;
    return { ok: true, value };
  }
}

/** The sealer and opener of one side of a connection. */
export interface ControlSessionCrypto {
  readonly sealer: SessionSealer;
  readonly opener: SessionOpener;
}

/** The agent's side: it sends with the agent-to-service key and reads with the other. */
export const agentSession = (k: SessionKeys): ControlSessionCrypto => ({ sealer: new SessionSealer(k.agentToService), opener: new SessionOpener(k.serviceToAgent) });
/** The service's side: the mirror of the agent's. */
export const serviceSession = (k: SessionKeys): ControlSessionCrypto => ({ sealer: new SessionSealer(k.serviceToAgent), opener: new SessionOpener(k.agentToService) });
