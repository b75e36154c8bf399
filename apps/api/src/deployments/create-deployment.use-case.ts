import { Injectable } from '@nestjs/common';
import { assertPhysicalToLogical, assertShape, DeploymentShape, importExpertMap, invalid, numSlots, policyNames, roundRobinMap } from '@eplb/domain';
import { DeploymentExistsError, DeploymentRepository, EventMeta, PolicySettings } from '@eplb/persistence';
import { conflictProblem } from '@eplb/platform';
import type { DeploymentResponse } from '@eplb/contracts';
import { toDeploymentResponse } from './deployment.response';

export interface CreateDeploymentCommand {
  id: string;
  shape: DeploymentShape;
  /** Episode, interval and allowed lateness, in steps. */
  windows: { episodeSteps: number; intervalSteps: number; latenessSteps: number };
  /** physical_to_logical per layer, or an engine's map file; generated when absent. */
  initialMap?: number[][] | { format: string; document: Record<string, unknown> };
  settings?: Partial<PolicySettings>;
}

@Injectable()
export class CreateDeploymentUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(cmd: CreateDeploymentCommand, meta: EventMeta): Promise<DeploymentResponse> {
    assertShape(cmd.shape);
    if (cmd.windows.intervalSteps % cmd.windows.episodeSteps !== 0) {
      throw invalid('windows.intervalSteps', `${cmd.windows.intervalSteps} is not a whole number of ${cmd.windows.episodeSteps}-step episodes`);
    }
    if (cmd.settings?.policy !== undefined && !policyNames().includes(cmd.settings.policy)) {
      throw invalid('settings.policy', `unknown policy "${cmd.settings.policy}" (known: ${policyNames().join(', ')})`);
    }
    const map = Array.isArray(cmd.initialMap)
      ? cmd.initialMap
      : cmd.initialMap
        ? this.imported(cmd.initialMap, cmd.shape)
        : roundRobinMap(cmd.shape);
    assertPhysicalToLogical(map, cmd.shape.numLayers, cmd.shape.numExperts, numSlots(cmd.shape), 'initialMap');
    try {
      const created = await this.deployments.create(
        { id: cmd.id, ...cmd.shape, ...cmd.windows, numGroups: cmd.shape.numGroups ?? null, initialMap: map, settings: cmd.settings ?? {} },
        meta,
      );
      return toDeploymentResponse(created);
    } catch (err) {
      if (err instanceof DeploymentExistsError) throw conflictProblem(err.message);
      throw err;
    }
  }

  /** An engine's map file (the warm start from static EPLB), checked against the shape. */
  private imported(file: { format: string; document: Record<string, unknown> }, shape: DeploymentShape): number[][] {
    const map = importExpertMap(file.format, file.document, { ranks: shape.numRanks, experts: shape.numExperts });
    if (map.numRanks !== shape.numRanks) throw invalid('initialMap', `has ${map.numRanks} ranks, the shape has ${shape.numRanks}`);
    return map.physicalToLogical;
  }
}
