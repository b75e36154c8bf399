import { Injectable } from '@nestjs/common';
import type { ReadinessCheck } from '@eplb/platform';
import { AgentGateway } from './agents/agent-gateway';
import { RolloutRequestsPoller } from './driving/rollout-requests.poller';
import { RolloutLockRenewal } from './rollout-lock-renewal';

/**
 * Ready to drive rollouts: the control channel listens, the ack consumer joined its group (acks
 * sent from then on are read), the lock renewal runs, and a poll of the rollouts streams went
 * through (unfinished rollouts resumed from their logs).
 */
@Injectable()
export class RolloutReadinessCheck implements ReadinessCheck {
  readonly name = 'rollout';

  constructor(
    private readonly gateway: AgentGateway,
    private readonly renewal: RolloutLockRenewal,
    private readonly poller: RolloutRequestsPoller,
  ) {}

  async check(): Promise<void> {
    const waiting: string[] = [];
    if (!this.gateway.isListening) waiting.push('the control channel is not listening');
    if (!this.gateway.ready) waiting.push('the ack consumer has not joined its group');
    if (!this.renewal.running) waiting.push('the lock renewal is not running');
    if (!this.poller.caughtUp) waiting.push('the rollouts streams are not read yet');
    if (waiting.length > 0) throw new Error(waiting.join('; '));
  }
}
