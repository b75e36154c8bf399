import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@eplb/contracts';
import type { BatchContext, BatchResult, MessageBatch } from '@eplb/messaging';
import { HeatIngestService } from './heat-ingest.service';

@Controller()
export class HeatIngestController {
  constructor(private readonly ingest: HeatIngestService) {}

  /** Receives whole partition batches from KafkaBatchTransport; returns how far offsets may be committed. */
  @EventPattern(TOPICS.heat)
  handle(@Payload() batch: MessageBatch, @Ctx() ctx: BatchContext): Promise<BatchResult> {
    return this.ingest.ingest(batch, ctx);
  }
}
