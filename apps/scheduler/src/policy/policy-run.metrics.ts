import { counter, histogram } from '@eplb/platform';

const runs = counter('eplb_policy_runs_total', 'Scheduled policy runs by policy and status (proposed, nothing, failed)', ['policy', 'status'] as const);
const runDuration = histogram(
  'eplb_policy_run_duration_seconds',
  'Time a scheduled run spent in the policy (planning only: no reads or writes), by policy',
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ['policy'] as const,
);

/** A run the scheduler recorded (a retried job that found its run already recorded is not counted again). */
export function recordPolicyRun(policy: string, status: 'proposed' | 'nothing', runMs: number): void {
  runs.inc({ policy, status });
  runDuration.observe({ policy }, runMs / 1000);
}

/** A run whose job failed for good, counted once when its record is stored ('-': the deployment is gone). */
export function recordFailedPolicyRun(policy: string): void {
  runs.inc({ policy, status: 'failed' });
}
