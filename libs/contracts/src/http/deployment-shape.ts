import type { DeploymentShape } from '@eplb/domain';

/**
 * A deployment's shape as HTTP bodies spell it (`POST /v1/deployments`, every deployment
 * answer): short names, and `groups` absent or null when experts are not grouped.
 */
export interface DeploymentShapeBody {
  layers: number;
  experts: number;
  ranks: number;
  slotsPerRank: number;
  nodes: number;
  groups?: number | null;
}

/** The body's shape as the domain reads it; no `numGroups` when the body has none. */
export const shapeFromBody = (s: DeploymentShapeBody): DeploymentShape => ({
  numLayers: s.layers,
  numExperts: s.experts,
  numRanks: s.ranks,
  slotsPerRank: s.slotsPerRank,
  numNodes: s.nodes,
  ...(s.groups != null ? { numGroups: s.groups } : {}),
});

/** The domain's shape as answers spell it: `groups` is always present, null when ungrouped. */
export const shapeToBody = (s: DeploymentShape): DeploymentShapeBody & { groups: number | null } => ({
  layers: s.numLayers,
  experts: s.numExperts,
  ranks: s.numRanks,
  slotsPerRank: s.slotsPerRank,
  nodes: s.numNodes,
  groups: s.numGroups ?? null,
});
