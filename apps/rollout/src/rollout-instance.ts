import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** The actor of every event the rollout service decides itself. */
export const ROLLOUT_SERVICE_ACTOR = 'service:rollout';

/**
 * This instance of the rollout service: its id owns the rollout locks it takes, names its Kafka
 * ack group and is what agents are welcomed by.
 */
@Injectable()
export class RolloutInstance {
  readonly id = randomUUID();
}
