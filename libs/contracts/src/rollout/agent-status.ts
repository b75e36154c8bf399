import type { AgentRegistryEntry } from './rollout-streams';

/** An agent heard from within this long is live (agents heartbeat every 5 s by default). */
export const AGENT_STALE_AFTER_MS = 15_000;

/** `connected`: on the direct control channel; `kafka-only`: heard over Kafka only; `stale`: not heard for a while; `missing`: never heard. */
export type AgentStatus = 'connected' | 'kafka-only' | 'stale' | 'missing';

/** One node's entry of the agent registry hash as written, parsed; null when absent or unreadable. */
export function readAgentEntry(raw: Readonly<Record<string, string>>, node: number): AgentRegistryEntry | null {
  const text = raw[String(node)];
  if (!text) return null;
  try {
    return JSON.parse(text) as AgentRegistryEntry;
  } catch {
    return null; // an unreadable entry reads as never heard
  }
}

/** What the registry says of a node's agent at `now`. */
export function agentStatus(e: AgentRegistryEntry | null, now: number): AgentStatus {
  if (!e) return 'missing';
  if (Math.max(0, now - e.lastSeenMs) > AGENT_STALE_AFTER_MS) return 'stale';
  return e.connected ? 'connected' : 'kafka-only';
}

/**
 * Of `nodes`, those whose agent can take a rollout's commands now: none heard lately (stale or
 * missing) means a rollout would sit in its first prepare until it times out. An agent heard over
 * Kafka only can (commands go there when it has no control connection).
 */
export function nodesWithoutLiveAgent(raw: Readonly<Record<string, string>>, nodes: readonly number[], now: number): number[] {
  return nodes.filter((n) => {
    const s = agentStatus(readAgentEntry(raw, n), now);
    return s === 'stale' || s === 'missing';
  });
}
