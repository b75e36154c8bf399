import { z } from 'zod';
import { HEAT_PHASES } from '@eplb/contracts';
import { MODES } from '@eplb/persistence';

/** Policy settings as the API accepts them, at registration and on change: any subset. */
export const policySettings = z
  .strictObject({
    policy: z.string().min(1).max(64),
    cadenceSeconds: z.number().int().min(0).max(7 * 86_400),
    threshold: z.number().min(0).max(10),
    minGain: z.number().min(0).max(10),
    maxTransfers: z.number().int().min(0).nullable(),
    phase: z.enum(HEAT_PHASES),
    mode: z.enum(MODES),
    expertBytes: z.number().int().min(0).max(2 ** 40),
  })
  .partial();
