import { Injectable } from '@nestjs/common';
import { DeploymentRollouts, DeploymentRolloutsReader, FollowedDeploymentRollouts } from '@eplb/persistence';

/**
 * The loop's read of each deployment's rollouts stream, followed from the last event it folded:
 * a pass costs one indexed query for what was appended since, however long the deployment's
 * history grows (a pass that folded the whole stream again read every rollout ever run, each tick).
 * Read with times, which the loop's rate limit and cool-down need.
 */
@Injectable()
export class LoopRollouts {
  private readonly followed = new Map<string, FollowedDeploymentRollouts>();

  constructor(private readonly reader: DeploymentRolloutsReader) {}

  /** The deployment's view, brought up to what is committed now. */
  refresh(deployment: string): Promise<DeploymentRollouts> {
    let f = this.followed.get(deployment);
    if (!f) this.followed.set(deployment, (f = this.reader.follow(deployment)));
    return f.refresh();
  }
}
