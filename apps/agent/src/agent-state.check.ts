import { Injectable } from '@nestjs/common';
import type { ReadinessCheck } from '@eplb/platform';
import { AgentService } from './agent.service';

/**
 * Not ready while the agent's last state write failed (disk full, a read-only state dir): its
 * acks say so command by command, and readiness tells the node's supervisor too.
 */
@Injectable()
export class AgentStateCheck implements ReadinessCheck {
  readonly name = 'agent-state';

  constructor(private readonly agent: AgentService) {}

  async check(): Promise<void> {
    const failure = this.agent.state?.failure;
    if (failure) throw new Error(`agent state not saved: ${failure}`);
  }
}
