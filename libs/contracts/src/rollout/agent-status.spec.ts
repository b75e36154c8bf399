import { describe, expect, it } from 'vitest';
import { AGENT_STALE_AFTER_MS, nodesWithoutLiveAgent } from './agent-status';

const NOW = 1_800_000_000_000;
const entry = (node: number, over: Record<string, unknown> = {}) =>
  JSON.stringify({ node, ranks: [node], lastSeenMs: NOW - 1_000, connected: true, principal: null, heldVersions: null, ...over });

describe('nodesWithoutLiveAgent', () => {
  it('names stale, missing and unreadable nodes; an agent heard over Kafka only is live', () => {
    const raw = { 0: entry(0), 1: entry(1, { connected: false }), 2: entry(2, { lastSeenMs: NOW - AGENT_STALE_AFTER_MS - 1 }), 4: '{' };
    expect(nodesWithoutLiveAgent(raw, [0, 1, 2, 3, 4], NOW)).toEqual([2, 3, 4]);
  });
});
