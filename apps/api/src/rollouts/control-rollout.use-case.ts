import { Injectable } from '@nestjs/common';
import { RolloutControlAccepted, RolloutControlAction } from '@eplb/contracts';
import { DeploymentRolloutsReader, EventMeta, RolloutEventRepository } from '@eplb/persistence';
import { conflictProblem, notFoundProblem } from '@eplb/platform';

export interface ControlRolloutCommand {
  readonly action: RolloutControlAction;
  readonly reason: string;
  /** abort only: roll committed layers back (default: the rollout's onFailure) or hold them. */
  readonly rollback?: boolean;
}

/** Records an operator's pause, resume, abort or promote; the service driving the rollout applies it. */
@Injectable()
export class ControlRolloutUseCase {
  constructor(
    private readonly rollouts: DeploymentRolloutsReader,
    private readonly events: RolloutEventRepository,
  ) {}

  async execute(dep: string, rolloutId: string, command: ControlRolloutCommand, meta: EventMeta): Promise<RolloutControlAccepted> {
    const { view } = await this.rollouts.load(dep);
    if (!view.requests.has(rolloutId)) throw notFoundProblem(`deployment ${dep} has no rollout ${rolloutId}`);
    if (view.finished.has(rolloutId) || view.rejected.has(rolloutId)) throw conflictProblem(`rollout ${rolloutId} is finished (${view.status(rolloutId)})`);
    const { action, rollback } = command;
    await this.events.control(dep, { rolloutId, action, ...(rollback !== undefined && action === 'abort' ? { rollback } : {}) }, { ...meta, reason: command.reason });
    return { rolloutId, action, accepted: true };
  }
}
