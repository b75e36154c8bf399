import { Injectable } from '@nestjs/common';
import type { ReadinessCheck } from '@eplb/platform';
import { HeatDeadLetters } from './heat-dead-letters';
import { HeatIngestService } from './heat-ingest.service';

/**
 * Ready once the heat consumer joined its group and owns its partitions, and while its batches
 * are stored and its dead letters sent: a batch retried behind a failing store or broker holds
 * its partition's offsets back, which is what an operator must see.
 */
@Injectable()
export class HeatConsumerCheck implements ReadinessCheck {
  readonly name = 'heat-consumer';
  constructor(
    private readonly ingest: HeatIngestService,
    private readonly deadLetters: HeatDeadLetters,
  ) {}
  async check(): Promise<void> {
    if (this.ingest.consumerStopped) throw new Error(this.ingest.consumerStopped);
    if (!this.ingest.joined) throw new Error('the heat consumer has not joined its group yet');
    const trouble = this.ingest.storeFailing ?? this.deadLetters.failing;
    if (trouble) throw new Error(`${trouble} (retrying)`);
  }
}
