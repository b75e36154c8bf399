import { Injectable } from '@nestjs/common';
import { DeploymentRepository } from '@eplb/persistence';
import type { HeatDeploymentView } from '@eplb/contracts';
import type { MapLookup, WindowShape } from '@eplb/domain';

const TTL_MS = 5_000;
/** Unknown ids are re-read at most this often: heat for an unregistered id must not cost a query per event. */
const NEGATIVE_TTL_MS = 1_000;

export interface CollectorDeployment extends HeatDeploymentView {
  readonly id: string;
  readonly window: WindowShape;
}

/**
 * Deployment shapes and latest map versions, cached briefly: every event needs them and they
 * change rarely. A miss (unknown deployment, newer map version) is re-read at once, so a
 * deployment registered a moment ago is rejected as unknown only if heat for that same id arrived
 * in the second before it was registered. Map versions are immutable and cached for good.
 */
@Injectable()
export class DeploymentCache {
  private readonly entries = new Map<string, { view: CollectorDeployment | null; at: number }>();
  /** deployment → map version → physical_to_logical per layer */
  private readonly maps = new Map<string, Map<number, number[][]>>();

  constructor(private readonly deployments: DeploymentRepository) {}

  async get(id: string, needVersion = 1): Promise<CollectorDeployment | null> {
    const hit = this.entries.get(id);
    const now = Date.now();
    if (hit && hit.view !== null && now - hit.at < TTL_MS && hit.view.latestMapVersion >= needVersion) return hit.view;
    if (hit && hit.view === null && now - hit.at < NEGATIVE_TTL_MS) return null;
    const d = await this.deployments.find(id);
    const view: CollectorDeployment | null = d
      ? {
          id: d.id,
          numLayers: d.numLayers,
          numRanks: d.numRanks,
          slotsPerRank: d.slotsPerRank,
          latestMapVersion: d.latestMapVersion,
          window: {
            numLayers: d.numLayers,
            numExperts: d.numExperts,
            numRanks: d.numRanks,
            slotsPerRank: d.slotsPerRank,
            episodeSteps: d.episodeSteps,
            intervalSteps: d.intervalSteps,
            latenessSteps: d.latenessSteps,
          },
        }
      : null;
    this.entries.set(id, { view, at: now });
    return view;
  }

  /** Loads the versions an event refers to, so that attribution can look them up synchronously. */
  async ensureMaps(id: string, versions: Iterable<number>): Promise<void> {
    let byVersion = this.maps.get(id);
    if (!byVersion) this.maps.set(id, (byVersion = new Map()));
    for (const v of versions) {
      if (byVersion.has(v)) continue;
      const map = await this.deployments.mapVersion(id, v);
      if (!map) throw new Error(`map version ${v} of ${id} is registered but has no map`);
      byVersion.set(v, map);
    }
  }

  /**
   * Attribution asks once per layer of every report (58 times per DeepSeek-V3 event): the lookup
   * holds its deployment's versions and remembers the last one asked for, with no key to build.
   */
  lookup(id: string): MapLookup {
    let lastVersion = -1;
    let last: number[][] | undefined;
    return (version, layer) => {
      if (version !== lastVersion) {
        last = this.maps.get(id)?.get(version);
        if (!last) throw new Error(`map version ${version} of ${id} not loaded`);
        lastVersion = version;
      }
      return last![layer];
    };
  }
}
