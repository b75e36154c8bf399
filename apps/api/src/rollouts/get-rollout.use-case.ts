import { Injectable } from '@nestjs/common';
import { RolloutDetailWithOutcome } from '@eplb/contracts';
import { replayRollout, rolloutSummary } from '@eplb/domain';
import { DeploymentRolloutsReader } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toRolloutOutcomeResponse } from './rollout-outcome.response';

/**
 * One rollout: the request, and once started what its own event stream replays to — the same log
 * the rollout service runs from — with each changed layer's status and version.
 */
@Injectable()
export class GetRolloutUseCase {
  constructor(private readonly rollouts: DeploymentRolloutsReader) {}

  async execute(dep: string, rolloutId: string): Promise<RolloutDetailWithOutcome> {
    const { view, events: stored } = await this.rollouts.load(dep);
    const req = view.requests.get(rolloutId);
    if (!req) throw notFoundProblem(`deployment ${dep} has no rollout ${rolloutId}`);
    const events = await this.rollouts.rolloutEvents(rolloutId);
    const request = { rolloutId, deployment: dep, mapVersion: req.payload.mapVersion, requestedBy: req.actor, reason: req.reason };
    if (events.length === 0) return { ...request, status: view.status(rolloutId), rejected: view.rejected.get(rolloutId) ?? null, layers: [], outcome: null };
    return { ...request, ...rolloutSummary(replayRollout(events)), outcome: toRolloutOutcomeResponse(view, stored, rolloutId) };
  }
}
