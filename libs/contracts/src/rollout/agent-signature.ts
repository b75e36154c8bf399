import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Agent messages on Kafka (acks, holdings, heartbeats) carry an HMAC of their value in this
 * header: anyone who can write to the acks topic could otherwise ack for any node. The direct
 * control channel authenticates its connection instead (the hello's token).
 */
export const AGENT_SIGNATURE_HEADER = 'eplb-agent-signature';

/**
 * The key an agent signs with: the SHA-256 (hex) of its API token — what the token store keeps,
 * so the service can verify without ever holding the token, while the topic's readers, who see
 * only signatures, cannot sign.
 */
export const agentSigningKey = (token: string): string => createHash('sha256').update(token).digest('hex');

export const signAgentMessage = (key: string, value: string | Buffer): string => createHmac('sha256', key).update(value).digest('hex');

/** Whether `signature` is the HMAC of `value` under one of `keys` (constant-time per key). */
export function agentSignatureValid(keys: Iterable<string>, value: string | Buffer, signature: string | undefined): boolean {
  if (!signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const got = Buffer.from(signature, 'hex');
  for (const key of keys) if (timingSafeEqual(Buffer.from(signAgentMessage(key, value), 'hex'), got)) return true;
  return false;
}
