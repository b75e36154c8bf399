import type { DeploymentRecord, PolicySettings } from '@eplb/persistence';

/** What the API says about a deployment; built explicitly so storage can change freely. */
export interface DeploymentResponse {
  id: string;
  shape: { layers: number; experts: number; ranks: number; slotsPerRank: number; nodes: number; groups: number | null };
  windows: { episodeSteps: number; intervalSteps: number; latenessSteps: number };
  mapVersion: number;
  settings: PolicySettings & { version: number };
  createdAt: string;
}

export const toDeploymentResponse = (d: DeploymentRecord): DeploymentResponse => ({
  id: d.id,
  shape: {
    layers: d.numLayers,
    experts: d.numExperts,
    ranks: d.numRanks,
    slotsPerRank: d.slotsPerRank,
    nodes: d.numNodes,
    groups: d.numGroups,
  },
  windows: { episodeSteps: d.episodeSteps, intervalSteps: d.intervalSteps, latenessSteps: d.latenessSteps },
  mapVersion: d.latestMapVersion,
  settings: { ...d.settings, version: d.settingsVersion },
  createdAt: d.createdAt.toISOString(),
});
