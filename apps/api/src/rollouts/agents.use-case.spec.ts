import type Redis from 'ioredis';
import { describe, expect, it } from 'vitest';
import { agentRegistryKey } from '@eplb/contracts';
import type { DeploymentRepository } from '@eplb/persistence';
import { AGENT_STALE_AFTER_MS, AgentsUseCase } from './agents.use-case';

const NOW = 1_800_000_000_000;

function useCase(entries: Record<string, string>, numNodes = 4) {
  const deployments = { find: async (id: string) => (id === 'd' ? { id, numNodes } : null) } as unknown as DeploymentRepository;
  const redis = { hgetall: async (key: string) => (key === agentRegistryKey('d') ? entries : {}) } as unknown as Redis;
  return new AgentsUseCase(deployments, redis);
}

const entry = (node: number, over: Record<string, unknown>) =>
  JSON.stringify({ node, ranks: [2 * node, 2 * node + 1], lastSeenMs: NOW - 1_000, connected: true, principal: 'agents', heldVersions: { 2: 3 }, ...over });

describe('AgentsUseCase', () => {
  it('shows every node: connected, kafka-only, stale, missing; an unreadable entry reads as never heard', async () => {
    const r = await useCase({
      0: entry(0, {}),
      1: entry(1, { connected: false, principal: null }),
      2: entry(2, { lastSeenMs: NOW - AGENT_STALE_AFTER_MS - 1 }),
      3: '{not json',
    }).execute('d', NOW);
    expect(r.agents.map((a) => [a.node, a.status, a.ageMs])).toEqual([
      [0, 'connected', 1_000],
      [1, 'kafka-only', 1_000],
      [2, 'stale', AGENT_STALE_AFTER_MS + 1],
      [3, 'missing', null],
    ]);
    expect(r.agents[0]).toMatchObject({ ranks: [0, 1], principal: 'agents', heldVersions: { 2: 3 }, lastSeen: new Date(NOW - 1_000).toISOString() });
  });

  it('answers 404 for an unknown deployment', async () => {
    await expect(useCase({}).execute('nope', NOW)).rejects.toMatchObject({ problem: { status: 404 } });
  });
});
