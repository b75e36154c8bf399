import { Injectable } from '@nestjs/common';

/** What this instance sent and received, for tests and benchmarks (the metrics carry the same by label). */
@Injectable()
export class RolloutStats {
  commandsSent = 0;
  /** Of commandsSent, those that went over the direct control channel (the rest over Kafka). */
  commandsSentDirect = 0;
  acksReceived = 0;
  invalidMessages = 0;
}
