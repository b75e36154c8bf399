import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { checkAgainstDeployment, DEAD_LETTER_HEADERS, DeadLetterV1, parseHeatEvent, TOPICS } from '@eplb/contracts';
import type { IncomingMessage, MessageBatch, MessageBus, MessageProducer } from '@eplb/messaging';
import { MESSAGE_BUS } from '@eplb/messaging';
import { HeatReport, HeatReportRepository } from '@eplb/persistence';
import { counter, LOGGER } from '@eplb/platform';
import { DeploymentCache } from './deployment-cache';

const heatEvents = counter('eplb_collector_heat_events_total', 'Heat events by outcome', ['outcome'] as const);
const deadLetters = counter('eplb_collector_dead_letters_total', 'Messages sent to the dead-letter topic, by first field at fault', ['field'] as const);

export const COLLECTOR_GROUP = 'collector';

/**
 * One batch of `eplb.heat.v1` from one partition: valid events are stored idempotently in one
 * transaction, invalid ones go to the dead-letter topic with their reason. The batch resolves only
 * when both are durable; the transport then commits the offsets (invariant 3 and 5).
 */
@Injectable()
export class HeatIngestService {
  private producer: Promise<MessageProducer> | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly reports: HeatReportRepository,
    private readonly cache: DeploymentCache,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async ingest(batch: MessageBatch): Promise<void> {
    const accepted: HeatReport[] = [];
    const rejected: { message: IncomingMessage; reason: string }[] = [];
    const now = Date.now();
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
      const needVersion = Math.max(e.mapVersion, ...(e.layerVersions ?? []));
      const deployment = await this.cache.get(e.deployment, needVersion);
      const reason = deployment ? checkAgainstDeployment(e, deployment, now) : `deployment: ${e.deployment} is not registered`;
      if (reason) {
        rejected.push({ message, reason });
        continue;
      }
      accepted.push({
        deploymentId: e.deployment,
        rank: e.rank,
        step: e.step,
        steps: e.steps,
        phase: e.phase,
        mapVersion: e.mapVersion,
        layerVersions: e.layerVersions,
        reportedAt: new Date(e.ts),
        load: e.load,
      });
    }
    const stored = accepted.length > 0 ? await this.ds.transaction((em) => this.reports.insertIdempotent(accepted, em)) : 0;
    if (rejected.length > 0) await this.deadLetter(rejected);
    heatEvents.inc({ outcome: 'stored' }, stored);
    heatEvents.inc({ outcome: 'duplicate' }, accepted.length - stored);
    heatEvents.inc({ outcome: 'rejected' }, rejected.length);
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
