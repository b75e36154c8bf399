import { Injectable } from '@nestjs/common';
import { policyNames } from '@eplb/domain';
import { DeploymentRepository, EventMeta, PolicySettings } from '@eplb/persistence';
import { notFoundProblem, validationProblem } from '@eplb/platform';
import type { SettingsResponse } from '@eplb/contracts';
import { toSettingsResponse } from './policy.responses';

@Injectable()
export class UpdateSettingsUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async execute(id: string, patch: Partial<PolicySettings>, meta: EventMeta): Promise<SettingsResponse> {
    if (patch.policy !== undefined && !policyNames().includes(patch.policy)) {
      throw validationProblem([{ field: 'body.policy', message: `unknown policy "${patch.policy}" (known: ${policyNames().join(', ')})` }]);
    }
    const updated = await this.deployments.updateSettings(id, patch, meta);
    if (!updated) throw notFoundProblem(`deployment ${id} does not exist`);
    return toSettingsResponse(updated);
  }
}
