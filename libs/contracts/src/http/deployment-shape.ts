import { z } from 'zod';
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

/**
 * Most physical slots over all layers (layers × ranks × slotsPerRank) a deployment may have: the
 * map, every episode's slot loads and every rollout plan hold that many numbers. Each dimension
 * alone in range can still multiply to 10⁹; this is a few times DeepSeek-V3 on 4096 ranks.
 */
export const MAX_SHAPE_SLOTS = 1 << 22;
/** Most (layer, logical expert) cells (layers × experts): every episode and rollup row holds them. */
export const MAX_SHAPE_EXPERT_CELLS = 1 << 20;

const positive = z.number().int().positive();

/** A deployment's shape as `POST /v1/deployments` takes it: each dimension, and their products, bounded. */
export const deploymentShapeSchema = z
  .strictObject({
    layers: positive.max(1024),
    experts: positive.max(4096),
    ranks: positive.max(4096),
    slotsPerRank: positive.max(1024),
    nodes: positive.max(4096),
    groups: positive.optional(),
  })
  .check((ctx) => {
    const s = ctx.value;
    const slots = s.layers * s.ranks * s.slotsPerRank;
    if (slots > MAX_SHAPE_SLOTS) {
      ctx.issues.push({ code: 'custom', input: s, message: `layers × ranks × slotsPerRank = ${slots} physical slots, more than the ${MAX_SHAPE_SLOTS} a deployment may have` });
    }
    const cells = s.layers * s.experts;
    if (cells > MAX_SHAPE_EXPERT_CELLS) {
      ctx.issues.push({ code: 'custom', input: s, message: `layers × experts = ${cells} cells, more than the ${MAX_SHAPE_EXPERT_CELLS} a deployment may have` });
    }
  });
