import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RolloutAccepted, RolloutStepInput } from '@eplb/contracts';
import { ROLLOUT_STATUS } from '@eplb/domain';
import { DeploymentRepository, DeploymentRolloutsReader, EventMeta, RolloutEventRepository } from '@eplb/persistence';
import { conflictProblem, notFoundProblem, validationProblem } from '@eplb/platform';
import { RolloutAgentsCheck } from './rollout-agents.check';

/** What an operator asks for: a map version, how to batch it, what a failure does, and why. */
export interface RequestRolloutCommand {
  readonly mapVersion: number;
  readonly steps?: RolloutStepInput[];
  readonly onFailure?: 'rollback' | 'hold';
  readonly bytesPerSecond?: number;
  readonly window?: number;
  readonly reason: string;
  /** Queue it even when nodes it needs have no live agent. */
  readonly force?: boolean;
}

/**
 * Records a rollout request in the deployment's `rollouts:<id>` stream; the rollout service, which
 * polls it and holds the deployment's lock, starts it. One rollout at a time per deployment
 * (checked in the transaction that appends), and none to nodes without a live agent unless forced.
 * The request carries the chain of custody of the version it deploys (its `map-version.created`
 * event's correlation id); the HTTP request's own id is the payload's `requestId`.
 */
@Injectable()
export class RequestRolloutUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: DeploymentRolloutsReader,
    private readonly events: RolloutEventRepository,
    private readonly agents: RolloutAgentsCheck,
  ) {}

  async execute(dep: string, command: RequestRolloutCommand, meta: EventMeta): Promise<RolloutAccepted> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    if (command.mapVersion > d.latestMapVersion) throw validationProblem([{ field: 'mapVersion', message: `${dep} has versions 1..${d.latestMapVersion}` }]);
    const { view } = await this.rollouts.load(dep);
    const inTheWay = view.active() ?? view.pending()[0]?.payload.rolloutId;
    if (inTheWay) throw conflictProblem(`rollout ${inTheWay} of ${dep} is not finished; one rollout at a time`);
    if (!command.force) await this.agents.refuseWithoutAgents(d, view, command.mapVersion, `v${command.mapVersion}`);
    const rolloutId = randomUUID();
    const { reason, force, ...asked } = command;
    const chain = (await this.deployments.mapVersionCorrelationId(dep, command.mapVersion)) ?? meta.correlationId;
    const requestId = chain === meta.correlationId ? {} : { requestId: meta.correlationId };
    const done = await this.events.requestIfIdle(dep, { rolloutId, ...asked, ...requestId, ...(force ? { forced: true } : {}) }, { ...meta, reason, correlationId: chain });
    if (!done.ok) throw conflictProblem(`rollout ${done.busy ?? ''} of ${dep} is not finished; one rollout at a time`);
    return { rolloutId, status: ROLLOUT_STATUS.requested };
  }
}
