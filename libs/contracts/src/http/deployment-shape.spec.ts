import { describe, expect, it } from 'vitest';
import { deploymentShapeSchema, MAX_SHAPE_EXPERT_CELLS, MAX_SHAPE_SLOTS } from './deployment-shape';

const messages = (shape: Record<string, number>) => {
  const r = deploymentShapeSchema.safeParse(shape);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('deployment shape schema', () => {
  it('accepts DeepSeek-V3 on 4096 ranks, and a shape right at each cap', () => {
    expect(messages({ layers: 61, experts: 256, ranks: 4096, slotsPerRank: 9, nodes: 512 })).toEqual([]);
    expect(messages({ layers: 1024, experts: 1024, ranks: 4096, slotsPerRank: 1, nodes: 1 })).toEqual([]);
    expect(1024 * 1024).toBe(MAX_SHAPE_EXPERT_CELLS);
    expect(1024 * 4096 * 1).toBe(MAX_SHAPE_SLOTS);
  });

  it('refuses a shape whose dimensions are each in range but whose slots are 10⁹, naming the product and the cap', () => {
    expect(messages({ layers: 1024, experts: 4096, ranks: 4096, slotsPerRank: 1024, nodes: 4096 })).toEqual([
      `: layers × ranks × slotsPerRank = 4294967296 physical slots, more than the ${MAX_SHAPE_SLOTS} a deployment may have`,
      `: layers × experts = 4194304 cells, more than the ${MAX_SHAPE_EXPERT_CELLS} a deployment may have`,
    ]);
  });
});
