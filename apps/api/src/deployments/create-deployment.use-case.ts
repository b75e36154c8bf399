import { Injectable } from '@nestjs/common';
import { assertPhysicalToLogical, assertShape, DeploymentShape, invalid, numSlots, roundRobinMap } from '@eplb/domain';
import { DeploymentExistsError, DeploymentRepository, EventMeta } from '@eplb/persistence';
import { conflictProblem } from '@eplb/platform';
import { DeploymentResponse, toDeploymentResponse } from './deployment.response';

export interface CreateDeploymentCommand {
  id: string;
  shape: DeploymentShape;
  /** Episode, interval and allowed lateness, in steps. */
  windows: { episodeSteps: number; intervalSteps: number; latenessSteps: number };
  /** physical_to_logical per layer; generated when absent. */
  initialMap?: number[][];
}

@Injectable()
export class CreateDeploymentUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(cmd: CreateDeploymentCommand, meta: EventMeta): Promise<DeploymentResponse> {
    assertShape(cmd.shape);
    if (cmd.windows.intervalSteps % cmd.windows.episodeSteps !== 0) {
      throw invalid('windows.intervalSteps', `${cmd.windows.intervalSteps} is not a whole number of ${cmd.windows.episodeSteps}-step episodes`);
    }
    const map = cmd.initialMap ?? roundRobinMap(cmd.shape);
    assertPhysicalToLogical(map, cmd.shape.numLayers, cmd.shape.numExperts, numSlots(cmd.shape), 'initialMap');
    try {
      const created = await this.deployments.create(
        { id: cmd.id, ...cmd.shape, ...cmd.windows, numGroups: cmd.shape.numGroups ?? null, initialMap: map },
        meta,
      );
      return toDeploymentResponse(created);
    } catch (err) {
      if (err instanceof DeploymentExistsError) throw conflictProblem(err.message);
      throw err;
    }
  }
}
