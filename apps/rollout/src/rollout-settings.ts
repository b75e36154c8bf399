import { z } from 'zod';

/** Rollout-service settings from the environment (beside the platform's AppConfig). */
const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
export const rolloutSettingsSchema = z.object({
  ROLLOUT_LOCK_TTL_MS: ms(10_000),
  ROLLOUT_TICK_MS: ms(50),
  ROLLOUT_POLL_MS: ms(200),
  /** How often the automatic loop looks at the deployments in auto mode. */
  ROLLOUT_AUTO_POLL_MS: ms(1_000),
  ROLLOUT_RESEND_MS: ms(2_000),
  ROLLOUT_PREPARE_TIMEOUT_MS: ms(30_000),
  ROLLOUT_COMMIT_TIMEOUT_MS: ms(10_000),
  /** After a failure: attempts to roll each committed layer back, the first retry this long after a failed one (doubling). */
  ROLLOUT_MAX_ROLLBACK_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  ROLLOUT_ROLLBACK_RETRY_MS: z.coerce.number().int().min(0).default(1_000),
  /**
   * Layers of a rollout in flight at once: the next ones stage while the oldest commits (commits
   * stay one at a time, in order). 1 = one layer after the other.
   */
  ROLLOUT_WINDOW: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * The direct control channel agents dial (TCP, newline-delimited JSON). 0 = any free port
   * (tests); Kafka carries commands for agents without a connection.
   */
  ROLLOUT_CONTROL_PORT: z.coerce.number().int().min(0).max(65535).default(3473),
  ROLLOUT_CONTROL_HOST: z.string().min(1).default('127.0.0.1'),
  /** Serve the control channel over TLS with this certificate and key (PEM files); both or neither. */
  ROLLOUT_CONTROL_TLS_CERT: z.string().min(1).optional(),
  ROLLOUT_CONTROL_TLS_KEY: z.string().min(1).optional(),
  /**
   * The Ed25519 private key (PEM, PKCS#8) the service signs agent commands with; agents pin its
   * public half. Required in production; elsewhere DEV_ROLLOUT_SIGNING_KEY_FILE, generated on first use.
   */
  ROLLOUT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  // The analysis gate (HeatAnalysis): episodes measured on a batch's layers after it committed,
  // against the most recent episodes before the rollout started.
  /** Episodes on the new version needed before a verdict (pending until then). */
  ROLLOUT_ANALYSIS_MIN_EPISODES: z.coerce.number().int().min(1).default(8),
  /** Baseline: at most this many of the most recent episodes before the rollout. */
  ROLLOUT_ANALYSIS_BASELINE_EPISODES: z.coerce.number().int().min(1).default(64),
  /** Worse by at most this (imbalance ratio units) always passes: the noise floor. */
  ROLLOUT_ANALYSIS_MIN_TOLERANCE: z.coerce.number().min(0).default(0.02),
  /** Worse by at most this many standard errors of the difference of the means passes. */
  ROLLOUT_ANALYSIS_SE_MULTIPLIER: z.coerce.number().min(0).default(2),
  /** How often a pending analysis asks again. */
  ROLLOUT_ANALYSIS_POLL_MS: ms(2_000),
  /** No verdict within this long after the batch committed: the gate fails (the machine's analysisTimeoutMs). */
  ROLLOUT_ANALYSIS_TIMEOUT_MS: ms(600_000),
  // The measured outcome of each finished rollout (OutcomeRecorder).
  /** How often finished rollouts without an outcome are looked at (each waits longer while its interval after is not sealed). */
  ROLLOUT_OUTCOME_POLL_MS: ms(5_000),
  /** No interval sealed wholly after the rollout within this long: recorded as not measurable. */
  ROLLOUT_OUTCOME_MAX_WAIT_MS: ms(1_800_000),
});
export type RolloutSettings = z.infer<typeof rolloutSettingsSchema>;
/**
 * The settings, checked once at start. In production the control channel must run over TLS (its
 * hello carries the agent's token) and the signing key must be the operator's, not a generated one.
 */
export const loadRolloutSettings = (env: NodeJS.ProcessEnv = process.env): RolloutSettings => {
  const s = rolloutSettingsSchema
    .refine((x) => !x.ROLLOUT_CONTROL_TLS_CERT === !x.ROLLOUT_CONTROL_TLS_KEY, { message: 'set both or neither', path: ['ROLLOUT_CONTROL_TLS_CERT'] })
    .parse(env);
  if (env.NODE_ENV === 'production') {
    if (!s.ROLLOUT_CONTROL_TLS_CERT) {
      throw new Error('ROLLOUT_CONTROL_TLS_CERT/KEY are required in production: the control channel carries agent tokens and commands, and must not run over plain TCP');
    }
    if (!s.ROLLOUT_SIGNING_KEY_FILE) throw new Error('ROLLOUT_SIGNING_KEY_FILE is required in production: the Ed25519 key (PEM) the service signs agent commands with');
  }
  return s;
};
export const ROLLOUT_SETTINGS = Symbol('ROLLOUT_SETTINGS');
