import type { DeploymentShape } from '@eplb/domain';
import type { DeploymentShapeRecord } from './deployment.repository';

/** The shape of a registered deployment, as the domain names it (no groups stored: none given). */
export const shapeOf = (d: DeploymentShapeRecord): DeploymentShape => ({
  numLayers: d.numLayers,
  numExperts: d.numExperts,
  numRanks: d.numRanks,
  slotsPerRank: d.slotsPerRank,
  numNodes: d.numNodes,
  ...(d.numGroups ? { numGroups: d.numGroups } : {}),
});
