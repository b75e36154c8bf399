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

/**
 * Rollout commands on Kafka carry, in this header, one HMAC of their value per key that may act
 * for the node they address (comma-separated): the agent checks one against its own key, so only
 * the rollout service (which reads the keys from the token store) can command a node over Kafka —
 * not another node's agent, nor anyone who can merely write the topic.
 */
export const SERVICE_SIGNATURES_HEADER = 'eplb-service-signatures';

/** One signature per key, comma-separated (SERVICE_SIGNATURES_HEADER). */
export const signForEach = (keys: readonly string[], value: string | Buffer): string => keys.map((k) => signAgentMessage(k, value)).join(',');

/** At most this many signatures in a header are looked at (a node has a handful of keys). */
const MAX_SIGNATURES = 16;

/**
 * Whether `header` holds the HMAC of `value` under one of `keys`: one signature (acks) or a
 * comma-separated list (commands); constant-time per comparison.
 */
export function signedWithOneOf(keys: Iterable<string>, value: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const got = header
    .split(',', MAX_SIGNATURES)
    .filter((h) => /^[0-9a-f]{64}$/.test(h))
    .map((h) => Buffer.from(h, 'hex'));
  if (got.length === 0) return false;
  for (const key of keys) {
    const want = Buffer.from(signAgentMessage(key, value), 'hex');
    for (const g of got) if (timingSafeEqual(want, g)) return true;
  }
  return false;
}
