import { Injectable } from '@nestjs/common';
import { RolloutTimeline } from '@eplb/contracts';
import { DeploymentRolloutsReader } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { rolloutTimeline } from './rollout-timeline';

/** One rollout's timeline, from the same event stream the rollout service runs from. */
@Injectable()
export class RolloutTimelineUseCase {
  constructor(private readonly rollouts: DeploymentRolloutsReader) {}

  async execute(dep: string, rolloutId: string): Promise<RolloutTimeline> {
    const { view } = await this.rollouts.load(dep);
    if (!view.requests.has(rolloutId)) throw notFoundProblem(`deployment ${dep} has no rollout ${rolloutId}`);
    return rolloutTimeline(rolloutId, await this.rollouts.rolloutEvents(rolloutId));
  }
}
