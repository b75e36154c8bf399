import { createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * Rollout commands and agent messages are signed with Ed25519 on both transports, each side with a
 * private key that only it holds: the rollout service signs commands with its own key (agents pin
 * its public key), each agent signs what it sends with its own key (the service keeps only the
 * agents' public keys, enrolled with their tokens). Nothing the database or the Kafka topics hold
 * lets anyone sign: a stolen backup or a reader of `api_tokens` can neither command a node nor
 * ack for one.
 *
 * The signature covers the message's exact bytes (its JSON text), which name the rollout, the
 * attempt, the sender's fence generation and an expiry: a captured message replays only as
 * itself, and the receiver refuses it once expired or older than what it accepted.
 */

/** On Kafka: the signature (base64) of the record's value, in this header. */
export const ROLLOUT_SIGNATURE_HEADER = 'eplb-signature';

/** How long a command or agent message is valid after it was sent (clocks must agree within this). */
export const ROLLOUT_MESSAGE_TTL_MS = 60_000;

/** The Ed25519 signature (base64) of `value`. */
export const signRolloutMessage = (key: KeyObject, value: string | Buffer): string => sign(null, typeof value === 'string' ? Buffer.from(value) : value, key).toString('base64');

/** An Ed25519 signature is 64 bytes: 88 characters of base64. */
const SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

/** Whether `signature` is the Ed25519 signature of `value` by the holder of `key`'s private half. */
export function verifyRolloutMessage(key: KeyObject, value: string | Buffer, signature: string | undefined): boolean {
  if (!signature || !SIGNATURE.test(signature)) return false;
  try {
    return verify(null, typeof value === 'string' ? Buffer.from(value) : value, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * On the direct control channel a signed message is one line: the signature, a space, the JSON
 * text it signs (the hello and the service's answer to it are plain JSON lines).
 */
export const signedLine = (signature: string, value: string): string => `${signature} ${value}`;

/** The signature and the signed JSON text of a control-channel line (no signature: `signature` undefined). */
export function readSignedLine(line: string): { signature: string | undefined; value: string } {
  const space = line.indexOf(' ');
  if (space <= 0 || line[0] === '{') return { signature: undefined, value: line };
  return { signature: line.slice(0, space), value: line.slice(space + 1) };
}

/** A public key as messages and the database carry it: base64 of its DER (SPKI). */
export const publicKeyText = (key: KeyObject): string => (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' }).toString('base64');

/** The Ed25519 public key of `publicKeyText`, or of a PEM text; throws on anything else. */
export function readPublicKey(text: string): KeyObject {
  const key = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`public key is ${String(key.asymmetricKeyType)}, not ed25519`);
  return key;
}
