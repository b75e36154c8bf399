import { Injectable } from '@nestjs/common';
import type { ReadinessCheck } from '@eplb/platform';
import { HeatIngestService } from './heat-ingest.service';

/** Ready once the heat consumer joined its group and owns its partitions. */
@Injectable()
export class HeatConsumerCheck implements ReadinessCheck {
  readonly name = 'heat-consumer';
  constructor(private readonly ingest: HeatIngestService) {}
  async check(): Promise<void> {
    if (!this.ingest.joined) throw new Error('the heat consumer has not joined its group yet');
  }
}
