import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { AgentRegistryEntry, agentRegistryKey, RolloutAckV1 } from '@eplb/contracts';
import { gauge, LOGGER, REDIS } from '@eplb/platform';

/** A timestamp, not an age: Prometheus computes `time() - …` itself, and the figure needs no refresh while an agent is silent. */
const lastSeenGauge = gauge('eplb_rollout_agent_last_seen_timestamp_seconds', 'When this instance last heard from the agent of a node (heartbeat, holdings, ack; either transport)', ['deployment', 'node'] as const);

/** An agent's control-channel connection to this instance, as the registry records it (none: Kafka only). */
export type AgentLink = { readonly open: boolean; readonly principal: string } | undefined;

/**
 * What this instance last heard from each agent (heartbeats, holdings reports, commit acks, on
 * either transport), kept in memory and in the Redis registry the API reads
 * (`GET /v1/deployments/{id}/agents`).
 */
@Injectable()
export class AgentRegistry {
  /** Latest holdings report per `deployment/node` (what the agents say they hold). */
  readonly holdings = new Map<string, { ranks: number[]; layers: number; at: number }>();
  /** Last sign of life per `deployment/node` (heartbeat, holdings, ack; either transport). */
  readonly lastSeen = new Map<string, number>();
  /** Per `deployment/node`: the version of each layer the agent last said it holds (holdings reports, commit acks). */
  private readonly heldLayers = new Map<string, Map<number, number>>();
  /** Per `deployment/node`: ranks the agent last reported gone (heartbeat or holdings). */
  private readonly lost = new Map<string, number[]>();
  /** Per `deployment/node`: what the registry says, so it is rewritten only on news or every few seconds. */
  private readonly registered = new Map<string, { entry: AgentRegistryEntry; writtenAt: number }>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** An agent message from either transport: its sign of life, and what it says it holds. */
  heard(m: RolloutAckV1, link: AgentLink): void {
    const key = `${m.deployment}/${m.node}`;
    this.seen(m.deployment, m.node);
    if (m.type === 'heartbeat' || m.type === 'holdings') this.lost.set(key, m.lostRanks ?? []);
    if (m.type === 'heartbeat') {
      this.register(m.deployment, m.node, m.ranks, link);
      return;
    }
    if (m.type === 'holdings') {
      this.holdings.set(key, { ranks: m.ranks, layers: m.layers.length, at: m.sentAt });
      this.heldLayers.set(key, new Map(m.layers.map((l) => [l.layer, l.version])));
      this.register(m.deployment, m.node, m.ranks, link);
      return;
    }
    if (m.ack.ok && m.ack.holdings) {
      const held = this.heldLayers.get(key) ?? new Map<number, number>();
      held.set(m.ack.holdings.layer, m.ack.holdings.version);
      this.heldLayers.set(key, held);
      this.register(m.deployment, m.node, m.ack.ranks, link);
    }
  }

  /** An agent connected on the control channel: heard from now. */
  connected(deployment: string, node: number, ranks: number[], link: AgentLink): void {
    this.seen(deployment, node);
    this.register(deployment, node, ranks, link);
  }

  private seen(deployment: string, node: number): void {
    const now = Date.now();
    this.lastSeen.set(`${deployment}/${node}`, now);
    lastSeenGauge.set({ deployment, node: String(node) }, now / 1000);
  }

  /** An agent's control connection closed: the registry says so at once. */
  disconnected(deployment: string, node: number, ranks: number[]): void {
    this.register(deployment, node, ranks, undefined);
  }

  /**
   * Records what this instance last heard from an agent in the registry the API reads. Written on
   * news (connected, ranks, held versions changed) or when the last write is older than 5 s, so
   * heartbeats keep `lastSeenMs` fresh without a write per message; never fails the caller.
   */
  private register(deployment: string, node: number, ranks: number[], link: AgentLink): void {
    const key = `${deployment}/${node}`;
    const prev = this.registered.get(key);
    const entry: AgentRegistryEntry = {
      node,
      ranks,
      lastSeenMs: this.lastSeen.get(key) ?? Date.now(),
      connected: !!link?.open,
      principal: link?.principal ?? prev?.entry.principal ?? null,
      heldVersions: this.heldLayers.has(key) ? this.heldVersions(key) : null,
      ...(this.lost.get(key)?.length ? { lostRanks: this.lost.get(key) } : {}),
    };
    const now = Date.now();
    // connection changes at once; held versions (they change with every commit) at most once a second; else every 5 s
    const urgent = !prev || prev.entry.connected !== entry.connected || prev.entry.ranks.join() !== ranks.join() || (prev.entry.lostRanks ?? []).join() !== (entry.lostRanks ?? []).join();
    const heldChanged = JSON.stringify(prev?.entry.heldVersions) !== JSON.stringify(entry.heldVersions);
    if (!urgent && !(heldChanged && now - prev.writtenAt >= 1_000) && now - prev.writtenAt < 5_000) return;
    this.registered.set(key, { entry, writtenAt: now });
    const rk = agentRegistryKey(deployment);
    void this.redis
      .multi()
      .hset(rk, String(node), JSON.stringify(entry))
      .pexpire(rk, 7 * 24 * 3600 * 1000)
      .exec()
      .catch((e: Error) => this.logger.warn({ deployment, node, err: e.message }, 'agent registry not written'));
  }

  private heldVersions(key: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const v of this.heldLayers.get(key)?.values() ?? []) out[v] = (out[v] ?? 0) + 1;
    return out;
  }
}
