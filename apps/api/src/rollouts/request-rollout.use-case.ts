import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RolloutAccepted, RolloutStepInput } from '@eplb/contracts';
import { ROLLOUT_STATUS } from '@eplb/domain';
import { DeploymentRepository, DeploymentRolloutsReader, EventMeta, RolloutEventRepository } from '@eplb/persistence';
import { conflictProblem, notFoundProblem, validationProblem } from '@eplb/platform';

/** What an operator asks for: a map version, how to batch it, what a failure does, and why. */
export interface RequestRolloutCommand {
  readonly mapVersion: number;
  readonly steps?: RolloutStepInput[];
  readonly onFailure?: 'rollback' | 'hold';
  readonly bytesPerSecond?: number;
  readonly reason: string;
}

/**
 * Records a rollout request in the deployment's `rollouts:<id>` stream; the rollout service, which
 * polls it and holds the deployment's lock, starts it. One rollout at a time per deployment. The
 * request carries the chain of custody of the version it deploys (its `map-version.created`
 * event's correlation id); the HTTP request's own id is the payload's `requestId`.
 */
@Injectable()
export class RequestRolloutUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: DeploymentRolloutsReader,
    private readonly events: RolloutEventRepository,
  ) {}

  async execute(dep: string, command: RequestRolloutCommand, meta: EventMeta): Promise<RolloutAccepted> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    if (command.mapVersion > d.latestMapVersion) throw validationProblem([{ field: 'mapVersion', message: `${dep} has versions 1..${d.latestMapVersion}` }]);
    const { view } = await this.rollouts.load(dep);
    const busy = view.active() ?? view.pending()[0]?.payload.rolloutId;
    if (busy) throw conflictProblem(`rollout ${busy} of ${dep} is not finished; one rollout at a time`);
    const rolloutId = randomUUID();
    const { reason, ...asked } = command;
    const chain = (await this.deployments.mapVersionCorrelationId(dep, command.mapVersion)) ?? meta.correlationId;
    const requestId = chain === meta.correlationId ? {} : { requestId: meta.correlationId };
    await this.events.request(dep, { rolloutId, ...asked, ...requestId }, { ...meta, reason, correlationId: chain });
    return { rolloutId, status: ROLLOUT_STATUS.requested };
  }
}
