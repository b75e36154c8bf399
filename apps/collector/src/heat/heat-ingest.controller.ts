import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@eplb/contracts';
import type { MessageBatch } from '@eplb/messaging';
import { HeatIngestService } from './heat-ingest.service';

@Controller()
export class HeatIngestController {
  constructor(private readonly ingest: HeatIngestService) {}

  /** Receives whole partition batches from KafkaBatchTransport. */
  @EventPattern(TOPICS.heat)
  handle(@Payload() batch: MessageBatch): Promise<void> {
    return this.ingest.ingest(batch);
  }
}
