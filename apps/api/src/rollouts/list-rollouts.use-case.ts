import { Injectable } from '@nestjs/common';
import { ROLLOUT_EVENTS, RolloutListItemWithOutcome, RolloutListWithOutcomesResponse } from '@eplb/contracts';
import { DeploymentRepository, DeploymentRollouts, DeploymentRolloutsReader, RolloutRequestRecord, StoredEvent } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toRolloutOutcomeResponse } from './rollout-outcome.response';

/** The deployment's rollouts, oldest first (each with its measured outcome), and the version each layer is committed on. */
@Injectable()
export class ListRolloutsUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: DeploymentRolloutsReader,
  ) {}

  async execute(dep: string): Promise<RolloutListWithOutcomesResponse> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    const { view, events } = await this.rollouts.load(dep);
    return {
      committedVersions: view.committedVersions(d.numLayers),
      rebalancing: view.active() !== null,
      items: [...view.requests.values()].map((r) => toRolloutListItem(view, events, r)),
    };
  }
}

function toRolloutListItem(view: DeploymentRollouts, events: readonly StoredEvent[], r: RolloutRequestRecord): RolloutListItemWithOutcome {
  const rolloutId = r.payload.rolloutId;
  // when the request, the start and the end were recorded (null: not yet)
  const at = (type: string) => events.find((e) => e.type === type && e.payload.rolloutId === rolloutId)?.occurredAt ?? null;
  const finishedAt = at(ROLLOUT_EVENTS.finished) ?? at(ROLLOUT_EVENTS.rejected);
  return {
    rolloutId,
    mapVersion: r.payload.mapVersion,
    fromVersion: view.started.get(rolloutId)?.fromVersion ?? null,
    requestedBy: r.actor,
    reason: r.reason,
    status: view.status(rolloutId),
    failure: view.finished.get(rolloutId)?.failure ?? null,
    rejected: view.rejected.get(rolloutId) ?? null,
    requestedAt: at(ROLLOUT_EVENTS.requested)?.toISOString() ?? null,
    startedAt: at(ROLLOUT_EVENTS.started)?.toISOString() ?? null,
    finishedAt: finishedAt?.toISOString() ?? null,
    outcome: toRolloutOutcomeResponse(view, events, rolloutId),
  };
}
