import { Injectable } from '@nestjs/common';
import type { ReadinessCheck } from '@eplb/platform';
import { AgentService } from './agent.service';

/**
 * Not ready while the agent cannot do its part even though Kafka answers: its last state write
 * failed (disk full, a read-only state dir: its acks say so command by command), or a
 * rollout-service instance refused its control connection (a revoked, expired or misscoped token:
 * its messages on Kafka are dropped for the same reason). The node's supervisor sees it here.
 */
@Injectable()
export class AgentReadinessCheck implements ReadinessCheck {
  readonly name = 'agent';

  constructor(private readonly agent: AgentService) {}

  async check(): Promise<void> {
    const problems: string[] = [];
    const failure = this.agent.state?.failure;
    if (failure) problems.push(`agent state not saved: ${failure}`);
    const refused = this.agent.runtime?.controlRefused;
    if (refused) problems.push(`control channel refused by ${refused}`);
    if (problems.length > 0) throw new Error(problems.join('; '));
  }
}
