import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { checkAgainstDeployment, DEAD_LETTER_HEADERS, DeadLetterV1, HeatEventV1, parseHeatEvent, TOPICS } from '@eplb/contracts';
import { ClosedEpisode, EpisodeAccumulator, EpisodeStream, RankHeat } from '@eplb/domain';
import type { BatchResult, IncomingMessage, MessageBatch, MessageBus, MessageProducer } from '@eplb/messaging';
import { MESSAGE_BUS } from '@eplb/messaging';
import { HeatWindowRepository } from '@eplb/persistence';
import { APP_CONFIG, AppConfig, counter, LOGGER } from '@eplb/platform';
import { CollectorDeployment, DeploymentCache } from './deployment-cache';
import { observeHeatBatch, observeStoredEpisodes } from './heat-metrics';

const heatEvents = counter('eplb_collector_heat_events_total', 'Heat events by outcome', ['outcome'] as const);
const deadLetters = counter('eplb_collector_dead_letters_total', 'Messages sent to the dead-letter topic, by first field at fault', ['field'] as const);
const windows = counter('eplb_collector_windows_total', 'Episodes stored and intervals sealed', ['kind', 'closed_by'] as const);

export const COLLECTOR_GROUP = 'collector';

interface Stream {
  readonly deployment: CollectorDeployment;
  readonly episodes: EpisodeStream;
  readonly partition: number;
  /** episode → offset of its first report, to know how far offsets may be committed */
  readonly firstOffsets: Map<number, bigint>;
}

interface Late {
  readonly stream: Stream;
  readonly episode: number;
  readonly heat: RankHeat;
  readonly message: IncomingMessage;
}

const toRankHeat = (e: HeatEventV1): RankHeat => ({
  rank: e.rank,
  step: e.step,
  steps: e.steps,
  mapVersion: e.mapVersion,
  layerVersions: e.layerVersions,
  tsMs: Date.parse(e.ts),
  load: e.load,
});

/**
 * Turns `eplb.heat.v1` batches into episodes and intervals. Open episodes live in memory; an
 * offset is committed only once every report before it is stored (in a closed episode) or
 * dead-lettered, so a crash replays exactly what was not yet durable, and the episodes' receipt
 * bitmaps make the replay count nothing twice (invariants 3 and 5).
 */
@Injectable()
export class HeatIngestService {
  private producer: Promise<MessageProducer> | null = null;
  private readonly streams = new Map<string, Stream>();

  constructor(
    private readonly ds: DataSource,
    private readonly windowsRepo: HeatWindowRepository,
    private readonly cache: DeploymentCache,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether the consumer has joined its group (readiness): until then no heat is read. */
  joined = false;

  /** After a rebalance, forget state of partitions we no longer own: their new owner replays them. */
  onAssignment(assigned: Record<string, number[]>): void {
    this.joined = true;
    const mine = new Set(assigned[TOPICS.heat] ?? []);
    for (const [key, s] of this.streams) if (!mine.has(s.partition)) this.streams.delete(key);
  }

  async ingest(batch: MessageBatch): Promise<BatchResult> {
    const rejected: { message: IncomingMessage; reason: string }[] = [];
    const late: Late[] = [];
    const touched = new Set<Stream>();
    const now = Date.now();
    let duplicates = 0;
    let counted = 0;
    for (const message of batch.messages) {
      const verdict = parseHeatEvent(message.value);
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
          late.push({ stream, episode: offer.episode, heat, message });
          break;
        case 'rejected':
          rejected.push({ message, reason: offer.reason });
          break;
      }
    }

    const closed = [...touched].map((s) => ({ stream: s, drained: s.episodes.drain() }));
    const lateOutcome = await this.persist(closed, late, rejected);
    if (rejected.length > 0) await this.deadLetter(rejected);
    for (const { stream, drained } of closed) {
      for (const ep of drained.episodes) stream.firstOffsets.delete(ep.episode);
      observeStoredEpisodes(stream.deployment.id, stream.episodes.phase, drained.episodes);
    }
    observeHeatBatch(batch, Date.now());

    heatEvents.inc({ outcome: 'counted' }, counted + lateOutcome.merged);
    heatEvents.inc({ outcome: 'duplicate' }, duplicates + lateOutcome.duplicates);
    heatEvents.inc({ outcome: 'rejected' }, rejected.length);
    if (lateOutcome.merged) heatEvents.inc({ outcome: 'late-merged' }, lateOutcome.merged);

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

  /** Stores closed episodes, merges late reports, seals intervals: one transaction per batch. */
  private async persist(
    closed: { stream: Stream; drained: { episodes: ClosedEpisode[]; intervals: number[] } }[],
    late: Late[],
    rejected: { message: IncomingMessage; reason: string }[],
  ): Promise<{ merged: number; duplicates: number }> {
    const work = closed.filter((c) => c.drained.episodes.length > 0 || c.drained.intervals.length > 0);
    if (work.length === 0 && late.length === 0) return { merged: 0, duplicates: 0 };
    await this.windowsRepo.ensurePartitions([...work.flatMap((c) => c.drained.episodes.map((e) => e.firstTsMs)), ...late.map((l) => l.heat.tsMs)]);
    let merged = 0;
    let duplicates = 0;
    const lateRejected: { message: IncomingMessage; reason: string }[] = [];
    await this.ds.transaction(async (em) => {
      const deployments = new Set([...work.map((c) => c.stream.deployment.id), ...late.map((l) => l.stream.deployment.id)]);
      for (const id of [...deployments].sort()) await this.windowsRepo.lock(em, id);
      for (const { stream, drained } of work) {
        const stored = await this.windowsRepo.insertEpisodes(em, stream.deployment.id, drained.episodes);
        for (const ep of drained.episodes) windows.inc({ kind: 'episode', closed_by: ep.closedBy });
        if (stored < drained.episodes.length) this.logger.warn({ deployment: stream.deployment.id, skipped: drained.episodes.length - stored }, 'episodes already stored (replay)');
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
          else if (admission === 'new') {
            acc.add(l.heat, this.cache.lookup(id), true);
            merged++;
            changed = true;
          } else lateRejected.push({ message: l.message, reason: admission.conflict });
        }
        if (!changed) continue;
        const next = acc.close(stored?.closedBy ?? 'watermark');
        if (stored) await this.windowsRepo.replaceEpisode(em, id, next, stored.startedAt);
        else await this.windowsRepo.insertEpisodes(em, id, [next]);
      }
      for (const { stream, drained } of work) {
        for (const interval of drained.intervals) {
          if (await this.windowsRepo.sealInterval(em, stream.deployment.id, stream.episodes.phase, interval, stream.deployment.window)) {
            windows.inc({ kind: 'interval', closed_by: 'watermark' });
          }
        }
      }
    });
    rejected.push(...lateRejected);
    return { merged, duplicates };
  }

  private async deadLetter(rejected: { message: IncomingMessage; reason: string }[]): Promise<void> {
    this.producer ??= this.bus.producer();
    const producer = await this.producer.catch((err: unknown) => {
      this.producer = null;
      throw err;
    });
    const rejectedAt = new Date().toISOString();
    await producer.send(
      TOPICS.heatDeadLetter,
      rejected.map(({ message: m, reason }) => {
        const letter: DeadLetterV1 = {
          v: 1,
          reason,
          source: { topic: m.topic, partition: m.partition, offset: m.offset },
          consumer: COLLECTOR_GROUP,
          rejectedAt,
          key: m.key?.toString() ?? null,
          valueBase64: m.value?.toString('base64') ?? null,
        };
        deadLetters.inc({ field: reason.split(':')[0].split('.')[0] });
        return {
          key: m.key?.toString() ?? null,
          value: JSON.stringify(letter),
          headers: {
            [DEAD_LETTER_HEADERS.reason]: reason,
            [DEAD_LETTER_HEADERS.sourceTopic]: m.topic,
            [DEAD_LETTER_HEADERS.sourcePartition]: String(m.partition),
            [DEAD_LETTER_HEADERS.sourceOffset]: m.offset,
          },
        };
      }),
    );
    this.logger.warn({ count: rejected.length, first: rejected[0].reason }, 'heat events dead-lettered');
  }
}
