import { z } from 'zod';
import { HEAT_PHASES } from '@eplb/contracts';
import { MODES, ROLLOUT_ON_FAILURE } from '@eplb/persistence';
import { rolloutSteps } from '../rollouts/rollout-step.schema';

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
    /** How map versions are rolled out when nobody spells it out (automatic, approve-and-deploy). */
    rolloutSteps,
    rolloutOnFailure: z.enum(ROLLOUT_ON_FAILURE),
    /** Cap on the bytes each agent takes in per second during such a rollout; null: the agents' own. */
    rolloutBytesPerSecond: z.number().int().positive().max(1e12).nullable(),
    /** The automatic loop starts at most this many rollouts in any hour (0: none). */
    maxAutoRolloutsPerHour: z.number().int().min(0).max(60),
  })
  .partial();
