import { invalid } from '../errors';

/**
 * The shape of a deployment (docs/design.md, "Deployment and shape"): L MoE layers, E logical
 * experts per layer, R ranks with S physical slots each (P = R·S ≥ E), N nodes (R/N ranks each),
 * optional G groups.
 */
export interface DeploymentShape {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly numNodes: number;
  readonly numGroups?: number;
}

export const numSlots = (s: DeploymentShape): number => s.numRanks * s.slotsPerRank;
export const ranksPerNode = (s: DeploymentShape): number => s.numRanks / s.numNodes;
export const rankOfSlot = (s: DeploymentShape, slot: number): number => Math.floor(slot / s.slotsPerRank);
export const nodeOfRank = (s: DeploymentShape, rank: number): number => Math.floor(rank / ranksPerNode(s));

const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Throws a DomainError naming the first field that breaks the shape's rules. */
export function assertShape(s: DeploymentShape): void {
  for (const key of ['numLayers', 'numExperts', 'numRanks', 'slotsPerRank', 'numNodes'] as const) {
    if (!positiveInt(s[key])) throw invalid(key, `must be a positive integer, got ${String(s[key])}`);
  }
  if (s.numRanks % s.numNodes !== 0) {
    throw invalid('numNodes', `${s.numNodes} nodes do not divide ${s.numRanks} ranks`);
  }
  if (numSlots(s) < s.numExperts) {
    throw invalid('slotsPerRank', `${numSlots(s)} physical slots cannot hold ${s.numExperts} logical experts`);
  }
  if (s.numGroups !== undefined) {
    if (!positiveInt(s.numGroups)) throw invalid('numGroups', `must be a positive integer, got ${String(s.numGroups)}`);
    if (s.numExperts % s.numGroups !== 0) {
      throw invalid('numGroups', `${s.numGroups} groups do not divide ${s.numExperts} experts`);
    }
  }
}
