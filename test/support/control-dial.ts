import type { KeyObject } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { agentSession, ControlSessionCrypto, deriveSessionKeys, newEphemeralKey, parseControlWelcome, readSignedLine, signedLine, signRolloutMessage, verifyRolloutMessage } from '@eplb/contracts';

/** A control-channel connection a test drives by hand, as an agent (or an attacker) would. */
export interface DialledControl {
  /** The service's first answer: the welcome's JSON text (its signature checked and removed), or the refusal as sent. */
  readonly answer: string;
  /** The session keyed by the welcome (null when refused). */
  readonly session: ControlSessionCrypto | null;
  /** Writes one line as it is. */
  send(line: string): void;
  close(): void;
}

/**
 * Dials the control channel on `port` and says `hello` (plus a fresh `ephemeral`, unless the hello
 * names its own; `undefined` leaves it out), signed with `signer`. A welcome must be signed with
 * `serviceKey` and echo the ephemeral key sent; its keys are derived as the agent derives them.
 */
export async function dialControl(port: number, hello: Record<string, unknown>, signer: KeyObject, serviceKey: KeyObject): Promise<DialledControl> {
  const ephemeral = newEphemeralKey();
  const value = JSON.stringify({ ephemeral: ephemeral.publicText, ...hello });
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
  sock.write(`${signedLine(signRolloutMessage(signer, value), value)}\n`);
  const first: string = await new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.off('data', onData);
        resolve(buf.slice(0, nl));
      }
    };
    sock.on('data', onData);
    sock.on('close', () => reject(new Error(`connection closed before an answer (${buf})`)));
  });
  let answer = first;
  let session: ControlSessionCrypto | null = null;
  if (!first.startsWith('{')) {
    const { signature, value: text } = readSignedLine(first);
    if (!verifyRolloutMessage(serviceKey, text, signature)) throw new Error('welcome not signed by the service key');
    const w = parseControlWelcome(text);
    if (!w.ok) throw new Error(`welcome: ${w.reason}`);
    if (w.message.agentEphemeral !== ephemeral.publicText) throw new Error('welcome does not echo our ephemeral key');
    session = agentSession(deriveSessionKeys(ephemeral.privateKey, w.message.ephemeral, ephemeral.publicText, w.message.ephemeral));
    answer = text;
  }
  return {
    answer,
    session,
    send: (line) => sock.write(`${line}\n`),
    close: () => sock.destroy(),
  };
}
