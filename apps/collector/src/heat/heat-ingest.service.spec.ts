import pino from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, encodeHeatEventV2, TOPICS } from '@eplb/contracts';
import { ClosedEpisode, roundRobinMap, StreamResume, WindowShape } from '@eplb/domain';
import type { BatchContext, IncomingMessage, MessageBatch, MessageBus, OutgoingMessage } from '@eplb/messaging';
import { HeatPartition, HeatPartitionClaims, HeatPartitionLost, HeatWindowRepository } from '@eplb/persistence';
import { loadConfig } from '@eplb/platform';
import type { CollectorDeployment, DeploymentCache } from './deployment-cache';
import { HeatDeadLetters } from './heat-dead-letters';
import { HeatIngestService } from './heat-ingest.service';

// The ingest service on stores it cannot tell from Postgres and Kafka for this purpose: what a
// transaction wrote is kept only if it committed, and the dead-letter topic can be unreachable.

const ID = 'dep-a';
// 1 layer, 4 experts, 2 ranks × 2 slots; episodes of 4 steps, intervals of 8, lateness 4
const w: WindowShape = { numLayers: 1, numExperts: 4, numRanks: 2, slotsPerRank: 2, episodeSteps: 4, intervalSteps: 8, latenessSteps: 4 };
// heat of a minute ago: inside the retention window the collector accepts
const T0 = Date.now() - 60_000;
const map = roundRobinMap({ numLayers: 1, numExperts: 4, numRanks: 2, slotsPerRank: 2, numNodes: 1 });
const deployment: CollectorDeployment = { id: ID, numLayers: 1, numRanks: 2, slotsPerRank: 2, latestMapVersion: 1, window: w };

type Stored = ClosedEpisode & { startedAt: Date };

/** Heat tables in memory; a transaction's writes are undone when it throws, as Postgres would. */
class Store {
  episodes = new Map<number, Stored>();
  intervals = new Set<number>();
  /** Throws inside the next transactions while set, after their episodes were written. */
  down: string | null = null;

  readonly ds = {
    transaction: async (work: (em: EntityManager) => Promise<void>) => {
      const [episodes, intervals] = [new Map(this.episodes), new Set(this.intervals)];
      try {
        await work({} as EntityManager);
      } catch (err) {
        [this.episodes, this.intervals] = [episodes, intervals];
        throw err;
      }
    },
  } as unknown as DataSource;

  readonly repo = {
    resume: async (): Promise<StreamResume> => ({ maxEndStep: 0, closedEpisodes: [], closedFloor: 0, nextInterval: null }),
    ensurePartitions: async () => undefined,
    lock: async () => undefined,
    insertEpisodes: async (_em: EntityManager, _id: string, eps: readonly ClosedEpisode[]) => {
      let n = 0;
      for (const e of eps) {
        if (this.episodes.has(e.episode)) continue;
        // a copy, as a row is: the accumulator's arrays must not show through
        this.episodes.set(e.episode, { ...e, received: e.received.slice(), slotLoad: e.slotLoad.slice(), logicalLoad: e.logicalLoad.slice(), startedAt: new Date(e.firstTsMs) });
        n++;
      }
      return n;
    },
    loadEpisodeForUpdate: async (_em: EntityManager, _id: string, _phase: string, episode: number) => this.episodes.get(episode) ?? null,
    replaceEpisode: async (_em: EntityManager, _id: string, e: ClosedEpisode, startedAt: Date) => {
      this.episodes.set(e.episode, { ...e, received: e.received.slice(), slotLoad: e.slotLoad.slice(), logicalLoad: e.logicalLoad.slice(), startedAt });
    },
    sealInterval: async (_em: EntityManager, _id: string, _phase: string, interval: number) => {
      if (this.down) throw new Error(this.down);
      if (this.intervals.has(interval)) return false;
      this.intervals.add(interval);
      return true;
    },
  } as unknown as HeatWindowRepository;
}

/** The partitions' claims: the generation each partition is at. */
class Claims {
  generation = 0;
  readonly repo = {
    claim: async () => ++this.generation,
    assertHeld: async (_em: EntityManager, at: HeatPartition, held: number) => {
      if (held !== this.generation) throw new HeatPartitionLost(at, held, this.generation);
    },
  } as unknown as HeatPartitionClaims;
}

/** The dead-letter topic; unreachable while `down` is set. */
class Broker {
  letters: OutgoingMessage[] = [];
  down = false;
  attempts = 0;
  readonly bus = {
    producer: async () => ({
      send: async (_topic: string, messages: readonly OutgoingMessage[]) => {
        this.attempts++;
        if (this.down) throw new Error('broker unreachable');
        this.letters.push(...messages);
      },
      close: async () => undefined,
    }),
  } as unknown as MessageBus;
}

/** Set while reading the deployment fails (Postgres down before the batch's transaction). */
let registryDown: string | null = null;
const cache = {
  get: async () => {
    if (registryDown) throw new Error(registryDown);
    return deployment;
  },
  ensureMaps: async () => undefined,
  lookup: () => (_version: number, layer: number) => map[layer],
} as unknown as DeploymentCache;

const running = (isRunning: () => boolean): BatchContext => ({ heartbeat: async () => undefined, isRunning });

let offset = 0;
const message = (value: unknown): IncomingMessage => ({
  topic: TOPICS.heat,
  partition: 0,
  offset: String(offset++),
  key: Buffer.from(ID),
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
  timestamp: '0',
});
const report = (rank: number, step: number) => ({
  v: 1, deployment: ID, rank, step, steps: 1, phase: 'decode', mapVersion: 1, layerVersions: null, ts: new Date(T0 + step).toISOString(), load: [[1 + rank, step]],
});
/** Every rank's report for steps [from, to), in one partition batch. */
const steps = (from: number, to: number, extra: IncomingMessage[] = []): MessageBatch => {
  const messages: IncomingMessage[] = [];
  for (let s = from; s < to; s++) for (let r = 0; r < 2; r++) messages.push(message(report(r, s)));
  return { topic: TOPICS.heat, partition: 0, messages: [...messages, ...extra] };
};
const lastOffset = (b: MessageBatch) => Number(b.messages[b.messages.length - 1].offset);

const setup = () => {
  offset = 0;
  const store = new Store();
  const broker = new Broker();
  const logger = pino({ level: 'silent' });
  const deadLetters = new HeatDeadLetters(broker.bus, logger);
  const claims = new Claims();
  const ingest = new HeatIngestService(store.ds, store.repo, claims.repo, cache, deadLetters, logger, loadConfig({}));
  return { store, broker, ingest, deadLetters, claims };
};

describe('HeatIngestService under outages', () => {
  it('a batch whose transaction failed is retried on the state it first met: every episode stored once, the interval sealed, offsets past it', async () => {
    const { store, ingest } = setup();
    const a = steps(0, 8);
    expect(await ingest.ingest(a)).toEqual({ durableBefore: String(lastOffset(a) + 1) });
    // episodes 2 and 3 close and interval 0 seals in this batch; Postgres goes away mid-transaction
    const b = steps(8, 16);
    store.down = 'Connection terminated unexpectedly';
    await expect(ingest.ingest(b)).rejects.toThrow('Connection terminated');
    expect(ingest.storeFailing).toMatch(/Connection terminated/);
    expect([...store.episodes.keys()].sort()).toEqual([0, 1]);
    store.down = null;
    // the consumer hands the same batch again
    expect(await ingest.ingest(b)).toEqual({ durableBefore: String(lastOffset(b) + 1) });
    expect(ingest.storeFailing).toBeNull();
    expect([...store.episodes.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect([...store.episodes.values()].map((e) => [e.episode, e.events, e.lateEvents, e.closedBy])).toEqual([
      [0, 8, 0, 'complete'],
      [1, 8, 0, 'complete'],
      [2, 8, 0, 'complete'],
      [3, 8, 0, 'complete'],
    ]);
    expect([...store.intervals]).toEqual([0]);
    // and the stream goes on: the next interval seals too
    const c = steps(16, 24);
    expect(await ingest.ingest(c)).toEqual({ durableBefore: String(lastOffset(c) + 1) });
    expect([...store.intervals]).toEqual([0, 1]);
  });

  it('says heat is not stored when reading the deployment fails, and stores the retried batch whole', async () => {
    const { store, ingest } = setup();
    const a = steps(0, 8);
    registryDown = 'connect ECONNREFUSED 127.0.0.1:5432';
    await expect(ingest.ingest(a)).rejects.toThrow('ECONNREFUSED');
    expect(ingest.storeFailing).toBe('heat not stored: connect ECONNREFUSED 127.0.0.1:5432');
    registryDown = null;
    expect(await ingest.ingest(a)).toEqual({ durableBefore: String(lastOffset(a) + 1) });
    expect(ingest.storeFailing).toBeNull();
    expect([...store.episodes.values()].map((e) => [e.episode, e.events])).toEqual([
      [0, 8],
      [1, 8],
    ]);
  });

  it('dead letters that cannot be sent after the store are retried in place; offsets move on once they are sent', async () => {
    const { store, broker, ingest, deadLetters } = setup();
    const a = steps(0, 8, [message('{not json')]);
    broker.down = true;
    let readiness: string | null = null;
    const done = ingest.ingest(a, running(() => {
      // the broker comes back after two failed sends; meanwhile readiness says why
      readiness ??= deadLetters.failing;
      if (broker.attempts >= 2) broker.down = false;
      return true;
    }));
    expect(await done).toEqual({ durableBefore: String(lastOffset(a) + 1) });
    expect(readiness).toMatch(/dead letters not sent: broker unreachable/);
    expect(deadLetters.failing).toBeNull();
    expect(broker.letters).toHaveLength(1);
    expect(store.episodes.size).toBe(2);
  });

  it('a batch handed back when its dead letters could not be sent leaves no offsets behind: the replay is a duplicate, not late', async () => {
    const { store, broker, ingest } = setup();
    await ingest.ingest(steps(0, 8));
    // episodes 2, 3 stored and interval 0 sealed; then the send fails and the consumer lost the partition
    const b = steps(8, 16, [message('{not json')]);
    broker.down = true;
    await expect(ingest.ingest(b, running(() => false))).rejects.toThrow('broker unreachable');
    broker.down = false;
    // whoever owns the partition now replays the batch
    expect(await ingest.ingest(b)).toEqual({ durableBefore: String(lastOffset(b) + 1) });
    // only the refused message: nothing of the replay was dead-lettered as late
    expect(broker.letters.map((l) => l.headers?.[DEAD_LETTER_HEADERS.reason])).toEqual([expect.not.stringMatching(/late/)]);
    expect([...store.episodes.values()].map((e) => [e.episode, e.events, e.lateEvents])).toEqual([
      [0, 8, 0],
      [1, 8, 0],
      [2, 8, 0],
      [3, 8, 0],
    ]);
    // later batches commit past it too
    const c = steps(16, 24);
    expect(await ingest.ingest(c)).toEqual({ durableBefore: String(lastOffset(c) + 1) });
  });

  it('a partition another collector claimed meanwhile: nothing of the batch is stored or committed, and the partition is read again under a fresh claim', async () => {
    const { store, claims, ingest } = setup();
    const a = steps(0, 6);
    // episode 0 closes; episode 1 (steps 4, 5) stays open in memory
    expect(await ingest.ingest(a)).toEqual({ durableBefore: String(lastOffset(a) - 3) });
    expect(claims.generation).toBe(1);
    // another member of the group took the partition over and claimed it
    claims.generation++;
    const b = steps(6, 8);
    expect(await ingest.ingest(b)).toEqual({ replay: expect.stringMatching(/claimed by another collector/) });
    expect([...store.episodes.keys()]).toEqual([0]);
    // given the partition back from its committed offset, it claims afresh and counts each report once
    const replayed: MessageBatch = { ...b, messages: [...a.messages.slice(-4), ...b.messages] };
    expect(await ingest.ingest(replayed)).toEqual({ durableBefore: String(lastOffset(b) + 1) });
    expect(claims.generation).toBe(3);
    expect([...store.episodes.values()].map((e) => [e.episode, e.events])).toEqual([
      [0, 8],
      [1, 8],
    ]);
  });

  it('reads eplb.heat.v2 rows beside v1 JSON, and dead-letters malformed rows with the reason', async () => {
    const { store, broker, ingest } = setup();
    const rows = (rank: number, step: number) => encodeHeatEventV2({ ...report(rank, step), phase: 'decode' });
    const v2 = (rank: number, step: number): IncomingMessage => ({ ...message(''), value: rows(rank, step) });
    const messages: IncomingMessage[] = [];
    // v2 and v1 reports interleaved within the episodes
    for (let s = 0; s < 8; s++) messages.push(v2(0, s), message(report(1, s)));
    const truncated = rows(0, 9).subarray(0, 20);
    messages.push({ ...message(''), value: truncated });
    const batch: MessageBatch = { topic: TOPICS.heat, partition: 0, messages };
    expect(await ingest.ingest(batch)).toEqual({ durableBefore: String(lastOffset(batch) + 1) });
    expect([...store.episodes.values()].map((e) => [e.episode, e.events, Array.from(e.slotLoad)])).toEqual([
      [0, 8, [4, 6, 8, 6]],
      [1, 8, [4, 22, 8, 22]],
    ]);
    expect(broker.letters.map((l) => l.headers?.[DEAD_LETTER_HEADERS.reason])).toEqual([expect.stringMatching(/^\(root\): 20 bytes is too short for a version 2 heat event/)]);
  });
});
