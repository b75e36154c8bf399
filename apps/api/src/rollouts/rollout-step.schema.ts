import { z } from 'zod';

/** One batch of a rollout as the API takes it (Argo-style): a layer count or 'rest', optionally gated. */
export const rolloutStep = z.union([
  z.number().int().positive(),
  z.literal('rest'),
  z.strictObject({ layers: z.union([z.number().int().positive(), z.literal('rest')]), analysis: z.boolean().optional() }),
]);

/** A rollout's batches: at most one 'rest', and only last (after it there is nothing left to batch). */
export const rolloutSteps = z
  .array(rolloutStep)
  .min(1)
  .max(64)
  .refine((steps) => steps.every((s, i) => !(s === 'rest' || (typeof s === 'object' && s.layers === 'rest')) || i === steps.length - 1), {
    message: "'rest' may only be the last step",
  });
