import { Injectable } from '@nestjs/common';
import { DeploymentRepository } from '@eplb/persistence';
import type { HeatDeploymentView } from '@eplb/contracts';

const TTL_MS = 5_000;

/**
 * Deployment shapes and latest map versions, cached briefly: every event needs them and they
 * change rarely. A miss (unknown deployment, newer map version) is re-read at once, so a
 * deployment registered a moment ago is never rejected for being unknown.
 */
@Injectable()
export class DeploymentCache {
  private readonly entries = new Map<string, { view: HeatDeploymentView | null; at: number }>();

  constructor(private readonly deployments: DeploymentRepository) {}

  async get(id: string, needVersion = 1): Promise<HeatDeploymentView | null> {
    const hit = this.entries.get(id);
    const now = Date.now();
    if (hit && now - hit.at < TTL_MS && hit.view !== null && hit.view.latestMapVersion >= needVersion) return hit.view;
    const d = await this.deployments.find(id);
    const view = d ? { numLayers: d.numLayers, numRanks: d.numRanks, slotsPerRank: d.slotsPerRank, latestMapVersion: d.latestMapVersion } : null;
    this.entries.set(id, { view, at: now });
    return view;
  }
}
