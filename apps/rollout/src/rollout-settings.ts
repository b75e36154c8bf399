import { z } from 'zod';

/** Rollout-service settings from the environment (beside the platform's AppConfig). */
const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
export const rolloutSettingsSchema = z.object({
  ROLLOUT_LOCK_TTL_MS: ms(10_000),
  ROLLOUT_TICK_MS: ms(50),
  ROLLOUT_POLL_MS: ms(200),
  ROLLOUT_RESEND_MS: ms(2_000),
  ROLLOUT_PREPARE_TIMEOUT_MS: ms(30_000),
  ROLLOUT_COMMIT_TIMEOUT_MS: ms(10_000),
});
export type RolloutSettings = z.infer<typeof rolloutSettingsSchema>;
export const loadRolloutSettings = (env: NodeJS.ProcessEnv = process.env): RolloutSettings => rolloutSettingsSchema.parse(env);
export const ROLLOUT_SETTINGS = Symbol('ROLLOUT_SETTINGS');
