import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { checkAgainstDeployment, CONSUMER_GROUPS, HeatEvent, parseHeatReport, TOPICS } from '@eplb/contracts';
import { Drained, EpisodeAccumulator, EpisodeStream, RankHeat } from '@eplb/domain';
import type { BatchContext, BatchResult, IncomingMessage, MessageBatch } from '@eplb/messaging';
import { HeatPartition, HeatPartitionClaims, HeatPartitionLost, HeatWindowRepository } from '@eplb/persistence';
import { APP_CONFIG, AppConfig, counter, LOGGER } from '@eplb/platform';
import { CollectorDeployment, DeploymentCache } from './deployment-cache';
import { HeatDeadLetters, Rejected } from './heat-dead-letters';
import { observeHeatBatch, observeStoredEpisodes } from './heat-metrics';

const heatEvents = counter('eplb_collector_heat_events_total', 'Heat events by outcome', ['outcome'] as const);
const windows = counter('eplb_collector_windows_total', 'Episodes stored and intervals sealed', ['kind', 'closed_by'] as const);
const storeFailures = counter('eplb_collector_store_failures_total', 'Heat batches whose transaction failed (the batch is retried)');
const partitionsLost = counter('eplb_collector_partitions_lost_total', 'Heat partitions another collector claimed while this one still held them (their state dropped, read again)');

interface Stream {
  readonly deployment: CollectorDeployment;
  readonly episodes: EpisodeStream;
  readonly partition: number;
  /** episode → offset of its first report, to know how far offsets may be committed */
  readonly firstOffsets: Map<number, bigint>;
}

/** A report for an episode already stored: merged there while its interval is open, else checked against its receipts. */
interface Late {
  readonly stream: Stream;
  readonly episode: number;
  readonly heat: RankHeat;
  readonly message: IncomingMessage;
  /** Why it is refused when its episode does not hold it already (its interval is sealed); null while the interval is open. */
  readonly sealed: string | null;
}

/** What a batch's messages are, before anything is stored. */
interface Classified {
  readonly rejected: Rejected[];
  readonly late: Late[];
  readonly touched: Set<Stream>;
  readonly counted: number;
  readonly duplicates: number;
}

const toRankHeat = (e: HeatEvent): RankHeat => ({
  rank: e.rank,
  step: e.step,
  steps: e.steps,
  mapVersion: e.mapVersion,
  layerVersions: e.layerVersions,
  tsMs: Date.parse(e.ts),
  load: e.load,
});

/** A batch handed back after its heat was stored goes on here: nothing to wait for. */
const NO_CONTEXT: BatchContext = { heartbeat: () => Promise.resolve(), isRunning: () => false };

/**
 * Turns heat batches (`eplb.heat.v1` JSON or `eplb.heat.v2` binary rows) into episodes and intervals. Open episodes live in memory; an
 * offset is committed only once every report before it is stored (in a closed episode) or
 * dead-lettered, so a crash replays exactly what was not yet durable, and the episodes' receipt
 * bitmaps make the replay count nothing twice (invariants 3 and 5).
 *
 * A batch changes what the streams hold closed only after its transaction committed: the
 * episodes and intervals due are computed as a value, stored, then settled. A transaction that
 * fails (Postgres restarting) throws, the consumer retries the same batch with back-off, and the
 * retry meets the state the first attempt met; `storeFailing` says so meanwhile (readiness).
 *
 * Several collectors share the heat topic in one consumer group. A partition's episodes are
 * assembled by one collector at a time: the first batch after an assignment claims the partition
 * (HeatPartitionClaims) before its streams resume from storage, and every store transaction checks
 * the claim. A rebalance drops all in-memory state; Kafka then hands each partition out from its
 * committed offset, so the new owner (or this one again) replays exactly the reports not yet
 * durable and resumes what storage holds — a restart for that partition. A collector that finds
 * its claim taken (it missed a rebalance) stores nothing of that batch, drops the partition's state
 * and reads it again from its committed offset; it writes nothing the new owner did not see.
 */
@Injectable()
export class HeatIngestService {
  private readonly streams = new Map<string, Stream>();
  /** Partition → generation of this collector's claim on it (taken at its first batch). */
  private readonly claims = new Map<number, number>();
  /** Bumped by every group (re)join: a batch begun under an older assignment commits nothing. */
  private assignment = 0;
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly group: string;

  constructor(
    private readonly ds: DataSource,
    private readonly windowsRepo: HeatWindowRepository,
    private readonly claimsRepo: HeatPartitionClaims,
    private readonly cache: DeploymentCache,
    private readonly deadLetters: HeatDeadLetters,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.group = CONSUMER_GROUPS.collector(config.KAFKA_GROUP_PREFIX);
  }

  /** Whether the consumer has joined its group (readiness): until then no heat is read. */
  joined = false;

  /** Why the last batch could not be stored, until one is; null when batches are stored. */
  storeFailing: string | null = null;

  /** Why the Kafka client gave up on the heat consumer; null while it runs. */
  consumerStopped: string | null = null;

  onConsumerStopped(reason: Error): void {
    this.consumerStopped = `the heat consumer stopped for good: ${reason.message}`;
  }

  /**
   * After a (re)join, forget every partition's state, kept ones included: another member may have
   * owned one meanwhile, and Kafka hands each partition out again from its committed offset, from
   * which the owner replays what is not yet durable.
   */
  onAssignment(_assigned: Record<string, number[]>): void {
    this.joined = true;
    this.assignment++;
    this.streams.clear();
    this.claims.clear();
  }

  /** Drops what this collector holds of one partition: its next batch claims it afresh. */
  private forget(partition: number): void {
    this.claims.delete(partition);
    for (const [key, s] of this.streams) if (s.partition === partition) this.streams.delete(key);
  }

  private at(partition: number): HeatPartition {
    return { group: this.group, topic: TOPICS.heat, partition };
  }

  async ingest(batch: MessageBatch, ctx: BatchContext = NO_CONTEXT): Promise<BatchResult> {
    const assignment = this.assignment;
    let classified: Classified;
    let due: { stream: Stream; due: Drained }[];
    let outcome: { merged: number; duplicates: number; rejected: Rejected[] };
    try {
      // claimed before any stream of the partition resumes from storage: what a previous owner
      // stored is then all there is to resume from
      let generation = this.claims.get(batch.partition);
      if (generation === undefined) {
        generation = await this.claimsRepo.claim(this.at(batch.partition), this.owner);
        this.claims.set(batch.partition, generation);
      }
      classified = await this.classify(batch);
      due = [...classified.touched].map((s) => ({ stream: s, due: s.episodes.due() }));
      outcome = await this.persist({ at: this.at(batch.partition), generation }, due, classified.late);
    } catch (err) {
      if (err instanceof HeatPartitionLost) {
        partitionsLost.inc();
        this.logger.warn({ partition: batch.partition, err: err.message }, 'heat partition claimed by another collector: its state dropped, read again from the committed offset');
        this.forget(batch.partition);
        return { replay: err.message };
      }
      this.storeFailing = `heat not stored: ${(err as Error).message}`;
      storeFailures.inc();
      throw err;
    }
    const { rejected, late, counted, duplicates } = classified;
    this.storeFailing = null;
    if (assignment !== this.assignment) {
      // The group rejoined while this batch was stored: the streams it settles are gone, and the
      // partition is read again from its committed offset; commit nothing from here.
      return { replay: 'the consumer group rebalanced while the batch was stored' };
    }
    // Committed: only now may the streams close what was stored, and offsets move past it.
    for (const { stream, due: d } of due) {
      stream.episodes.settle(d);
      for (const ep of d.episodes) {
        stream.firstOffsets.delete(ep.episode);
        windows.inc({ kind: 'episode', closed_by: ep.closedBy });
      }
      observeStoredEpisodes(stream.deployment.id, stream.episodes.phase, d.episodes);
    }
    rejected.push(...outcome.rejected);
    await this.deadLetters.send(rejected, ctx);
    observeHeatBatch(batch, Date.now());

    heatEvents.inc({ outcome: 'counted' }, counted + outcome.merged);
    heatEvents.inc({ outcome: 'duplicate' }, duplicates + outcome.duplicates);
    heatEvents.inc({ outcome: 'rejected' }, rejected.length);
    if (outcome.merged) heatEvents.inc({ outcome: 'late-merged' }, outcome.merged);

    const last = BigInt(batch.messages[batch.messages.length - 1].offset);
    let durableBefore = last + 1n;
    for (const s of this.streams.values()) {
      if (s.partition !== batch.partition) continue;
      for (const offset of s.firstOffsets.values()) if (offset < durableBefore) durableBefore = offset;
    }
    this.logger.debug(
      { partition: batch.partition, first: batch.messages[0].offset, last: last.toString(), durableBefore: durableBefore.toString(), counted, duplicates, late: late.length, rejected: rejected.length },
      'heat batch',
    );
    return { durableBefore: durableBefore.toString() };
  }

  /**
   * Offers each message to its stream: counted in an open episode, a duplicate, late (for the
   * store to merge or refuse) or refused with why. Reads the deployment and its stored state,
   * which can fail like the store itself.
   */
  private async classify(batch: MessageBatch): Promise<Classified> {
    const rejected: Rejected[] = [];
    const late: Late[] = [];
    const touched = new Set<Stream>();
    const now = Date.now();
    let duplicates = 0;
    let counted = 0;
    // What a retried batch offers again is a duplicate here: the open episodes' receipts hold it.
    for (const message of batch.messages) {
      const verdict = parseHeatReport(message.value);
      if (!verdict.ok) {
        rejected.push({ message, reason: verdict.reason });
        continue;
      }
      const e = verdict.event;
      const key = message.key?.toString();
      if (key !== undefined && key !== e.deployment) {
        rejected.push({ message, reason: `key: "${key}" differs from deployment "${e.deployment}"` });
        continue;
      }
      const versions = new Set([e.mapVersion, ...(e.layerVersions ?? [])]);
      const deployment = await this.cache.get(e.deployment, Math.max(...versions));
      const reason = deployment ? checkAgainstDeployment(e, deployment, now, this.config.HEAT_RETENTION_DAYS) : `deployment: ${e.deployment} is not registered`;
      if (reason || !deployment) {
        rejected.push({ message, reason: reason ?? 'deployment: not registered' });
        continue;
      }
      await this.cache.ensureMaps(e.deployment, versions);
      const stream = await this.stream(deployment, e.phase, batch.partition);
      touched.add(stream);
      const heat = toRankHeat(e);
      const offer = stream.episodes.offer(heat, this.cache.lookup(e.deployment));
      switch (offer.kind) {
        case 'open':
          counted++;
          if (!stream.firstOffsets.has(offer.episode)) stream.firstOffsets.set(offer.episode, BigInt(message.offset));
          break;
        case 'duplicate':
          duplicates++;
          break;
        case 'late':
          late.push({ stream, episode: offer.episode, heat, message, sealed: null });
          break;
        case 'sealed':
          late.push({ stream, episode: offer.episode, heat, message, sealed: offer.reason });
          break;
        case 'rejected':
          rejected.push({ message, reason: offer.reason });
          break;
      }
    }
    return { rejected, late, touched, counted, duplicates };
  }

  private async stream(deployment: CollectorDeployment, phase: string, partition: number): Promise<Stream> {
    const key = `${deployment.id}\u0000${phase}`;
    let s = this.streams.get(key);
    if (!s) {
      const resume = await this.windowsRepo.resume(deployment.id, phase, deployment.window);
      s = { deployment, episodes: new EpisodeStream(deployment.window, phase, resume), partition, firstOffsets: new Map() };
      this.streams.set(key, s);
    }
    return s;
  }

  /**
   * Stores what is due, merges late reports, seals intervals: one transaction per batch. Changes
   * nothing in memory: the caller settles the streams once it committed.
   */
  private async persist(
    claim: { at: HeatPartition; generation: number },
    due: { stream: Stream; due: Drained }[],
    late: Late[],
  ): Promise<{ merged: number; duplicates: number; rejected: Rejected[] }> {
    const work = due.filter((c) => c.due.episodes.length > 0 || c.due.intervals.length > 0);
    if (work.length === 0 && late.length === 0) return { merged: 0, duplicates: 0, rejected: [] };
    await this.windowsRepo.ensurePartitions([...work.flatMap((c) => c.due.episodes.map((e) => e.firstTsMs)), ...late.map((l) => l.heat.tsMs)]);
    let merged = 0;
    let duplicates = 0;
    let sealed = 0;
    const rejected: Rejected[] = [];
    await this.ds.transaction(async (em) => {
      // a failed attempt's counts must not leak into the retry's
      [merged, duplicates, sealed] = [0, 0, 0];
      rejected.length = 0;
      await this.claimsRepo.assertHeld(em, claim.at, claim.generation);
      const deployments = new Set([...work.map((c) => c.stream.deployment.id), ...late.map((l) => l.stream.deployment.id)]);
      for (const id of [...deployments].sort()) await this.windowsRepo.lock(em, id);
      for (const { stream, due: d } of work) {
        const stored = await this.windowsRepo.insertEpisodes(em, stream.deployment.id, d.episodes);
        if (stored < d.episodes.length) this.logger.warn({ deployment: stream.deployment.id, skipped: d.episodes.length - stored }, 'episodes already stored (replay)');
      }
      // Late reports: merge into the stored episode (or the empty one the watermark closed).
      const byEpisode = new Map<string, Late[]>();
      for (const l of late) {
        const k = `${l.stream.deployment.id}\u0000${l.stream.episodes.phase}\u0000${l.episode}`;
        byEpisode.set(k, [...(byEpisode.get(k) ?? []), l]);
      }
      for (const group of byEpisode.values()) {
        const { stream, episode } = group[0];
        const id = stream.deployment.id;
        const stored = await this.windowsRepo.loadEpisodeForUpdate(em, id, stream.episodes.phase, episode);
        const acc = stored ? EpisodeAccumulator.restore(stream.deployment.window, stored) : new EpisodeAccumulator(stream.deployment.window, stream.episodes.phase, episode);
        let changed = false;
        for (const l of group) {
          const admission = acc.admit(l.heat);
          if (admission === 'duplicate') duplicates++;
          else if (l.sealed !== null) rejected.push({ message: l.message, reason: l.sealed });
          else if (admission === 'new') {
            acc.add(l.heat, this.cache.lookup(id), true);
            merged++;
            changed = true;
          } else rejected.push({ message: l.message, reason: admission.conflict });
        }
        if (!changed) continue;
        const next = acc.close(stored?.closedBy ?? 'watermark');
        if (stored) await this.windowsRepo.replaceEpisode(em, id, next, stored.startedAt);
        else await this.windowsRepo.insertEpisodes(em, id, [next]);
      }
      for (const { stream, due: d } of work) {
        for (const interval of d.intervals) {
          if (await this.windowsRepo.sealInterval(em, stream.deployment.id, stream.episodes.phase, interval, stream.deployment.window)) sealed++;
        }
      }
    });
    if (sealed) windows.inc({ kind: 'interval', closed_by: 'watermark' }, sealed);
    return { merged, duplicates, rejected };
  }
}
