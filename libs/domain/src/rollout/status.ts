/**
 * The one vocabulary of rollout statuses. The state machine moves a started rollout through
 * `RolloutStatus`; before it starts a rollout is only a request, which the service may turn down,
 * so what the API and the CLI show is `RolloutLifecycleStatus`: the machine's statuses plus
 * REQUESTED and REJECTED.
 */
export const ROLLOUT_STATUS = {
  requested: 'REQUESTED',
  rejected: 'REJECTED',
  running: 'RUNNING',
  paused: 'PAUSED',
  analysing: 'ANALYSING',
  rollingBack: 'ROLLING_BACK',
  succeeded: 'SUCCEEDED',
  aborted: 'ABORTED',
  rolledBack: 'ROLLED_BACK',
} as const;

/** What the state machine says a started rollout is doing, or how it ended. */
export type RolloutStatus = (typeof ROLLOUT_STATUS)[Exclude<keyof typeof ROLLOUT_STATUS, 'requested' | 'rejected'>];

/** A rollout's status as a request: not yet started, turned down, or the machine's status. */
export type RolloutLifecycleStatus = (typeof ROLLOUT_STATUS)[keyof typeof ROLLOUT_STATUS];

/** How a started rollout can end. */
export const TERMINAL_ROLLOUT_STATUSES: readonly RolloutStatus[] = [ROLLOUT_STATUS.succeeded, ROLLOUT_STATUS.aborted, ROLLOUT_STATUS.rolledBack];

/** How a rollout request can end: one of the terminal statuses, or rejected before it started. */
export const FINISHED_ROLLOUT_STATUSES: readonly RolloutLifecycleStatus[] = [...TERMINAL_ROLLOUT_STATUSES, ROLLOUT_STATUS.rejected];

export const isFinishedRolloutStatus = (s: string): boolean => (FINISHED_ROLLOUT_STATUSES as readonly string[]).includes(s);

/** What the rollouts history records about one request (see the deployment-rollouts projection). */
export interface RolloutRequestFacts {
  readonly rejected: boolean;
  readonly started: boolean;
  /** The status the service recorded when the rollout ended, if it did. */
  readonly finished: RolloutStatus | null;
}

/** REJECTED, the recorded final status, RUNNING while started and not finished, else REQUESTED. */
export function rolloutLifecycleStatus(f: RolloutRequestFacts): RolloutLifecycleStatus {
  if (f.rejected) return ROLLOUT_STATUS.rejected;
  if (f.finished) return f.finished;
  if (f.started) return ROLLOUT_STATUS.running;
  return ROLLOUT_STATUS.requested;
}
