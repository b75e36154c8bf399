import { z } from 'zod';
import { DEPLOYMENT_ID_MAX_LENGTH, DEPLOYMENT_ID_PATTERN, DEPLOYMENT_ID_RULE } from '@eplb/domain';

/** A deployment id wherever one enters: heat events, rollout messages, URLs, agent settings. */
export const deploymentIdSchema = z
  .string()
  .min(1)
  .max(DEPLOYMENT_ID_MAX_LENGTH)
  .regex(DEPLOYMENT_ID_PATTERN, `must be a deployment id (${DEPLOYMENT_ID_RULE})`);
