import { Inject, Injectable } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { intervalCorrelationId, LOOP_ACTORS } from '@eplb/contracts';
import { DeploymentRepository, FollowedDeploymentViews, PolicyRunRepository } from '@eplb/persistence';
import { PolicyRunner, ProposalDecisions } from '@eplb/planning';
import { LOGGER } from '@eplb/platform';
import { PolicyQueue } from '../policy-queue';
import { recordFailedPolicyRun, recordPolicyRun } from './policy-run.metrics';

export const POLICY_RUN_JOB = 'policy-run';
/** Records a policy run that failed for good; a job of its own, so that recording it is retried too. */
export const POLICY_RUN_FAILED_JOB = 'policy-run-failed';

export interface PolicyRunData {
  readonly deployment: string;
}

interface FailedRunData {
  readonly deployment: string;
  readonly jobId: string;
  readonly attempts: number;
  readonly reason: string;
}

export type PolicyRunResult =
  | { skipped: string }
  | { runId: string; status: string; created: boolean; mapVersion?: number };

/**
 * One scheduled policy run: the newest sealed interval of the deployment's phase, the policy in
 * its settings, against the map in service (see DeploymentRollouts.inService). Idempotent by run key (deployment, phase, interval,
 * settings version): a retried or duplicated job finds the run already recorded and does nothing.
 * In `auto` mode a proposal is approved at once; in `approve` mode it waits for an operator.
 * The run's events carry the interval's correlation id (see intervalCorrelationId): its chain.
 */
@Injectable()
export class PolicyRunJob {
  constructor(
    private readonly queue: PolicyQueue,
    private readonly deployments: DeploymentRepository,
    private readonly runs: PolicyRunRepository,
    private readonly rollouts: FollowedDeploymentViews,
    private readonly runner: PolicyRunner,
    private readonly decisions: ProposalDecisions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    queue.register(POLICY_RUN_JOB, (job) => this.run(job as Job<PolicyRunData>), (job, err) => this.failed(job as Job<PolicyRunData>, err));
    queue.register(POLICY_RUN_FAILED_JOB, (job) => this.recordFailure(job.data as FailedRunData));
  }

  async run(job: Job<PolicyRunData>): Promise<PolicyRunResult> {
    const d = await this.deployments.find(job.data.deployment);
    if (!d) throw new UnrecoverableError(`deployment ${job.data.deployment} does not exist`);
    const phase = d.settings.phase;
    const latest = await this.runner.latestInterval(d, phase);
    if (!latest) return { skipped: `no sealed ${phase} interval yet` };
    const runKey = `${d.id}:${phase}:${latest.interval}:${d.settingsVersion}`;
    const existing = await this.runs.byKey(runKey);
    if (existing) return { runId: existing.id, status: existing.status, created: false };
    // against the map in service (not the newest version, which may never have been deployed):
    // during a rollout, the version it started from — a proposal made now is discarded if the
    // rollout succeeds, and still stands if it rolls back
    const base = (await this.rollouts.refresh(d.id)).inService(d.numLayers);
    if (base === null) return { skipped: 'layers are on different versions with no rollout running (held): an operator decides' };
    const outcome = await this.runner.run(d, latest.episodes, base, d.settings);
    const p = outcome.proposal;
    const meta = { actor: 'scheduler', reason: `scheduled ${p.policy} run on interval ${latest.interval}`, correlationId: intervalCorrelationId(d.id, phase, latest.interval) };
    const { run, created } = await this.runs.record(
      {
        deploymentId: d.id,
        runKey,
        phase,
        interval: latest.interval,
        policy: p.policy,
        status: p.status,
        reason: p.reason,
        baseMapVersion: outcome.baseMapVersion,
        figures: { layers: p.layers, chosenLayers: p.chosenLayers, transfers: p.transfers, bytes: p.bytes, currentMean: p.currentMean, candidateMean: p.candidateMean, episodes: outcome.episodes, settingsVersion: d.settingsVersion },
        candidate: p.status === 'proposed' ? p.candidate : null,
        runMs: outcome.runMs,
      },
      meta,
    );
    this.logger.info({ deployment: d.id, interval: latest.interval, status: run.status, runId: run.id, created }, p.reason);
    if (created) recordPolicyRun(p.policy, p.status, outcome.runMs);
    if (created && run.status === 'proposed' && d.settings.mode === 'auto') {
      const { mapVersion } = await this.decisions.approve(d.id, run.id, { ...meta, actor: LOOP_ACTORS.approver, reason: `auto mode: ${p.reason}` });
      return { runId: run.id, status: run.status, created, mapVersion };
    }
    return { runId: run.id, status: run.status, created };
  }

  /**
   * After the last attempt failed, the failure becomes a run the API shows, with its reason —
   * through a job of its own with retries, so a database down at that moment delays the record
   * instead of losing it (idempotent: one run key per failed job).
   */
  private async failed(job: Job<PolicyRunData>, err: Error): Promise<void> {
    const data: FailedRunData = { deployment: job.data.deployment, jobId: String(job.id), attempts: job.attemptsMade, reason: err.message };
    await this.queue.queue.add(POLICY_RUN_FAILED_JOB, data, {
      jobId: `failed-${job.id}`,
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: 200,
      removeOnFail: 500,
    });
  }

  private async recordFailure(f: FailedRunData): Promise<void> {
    // the policy the deployment was set to run; none when the deployment itself is gone
    const policy = (await this.deployments.find(f.deployment))?.settings.policy ?? '-';
    const { created } = await this.runs.record(
      {
        deploymentId: f.deployment,
        runKey: `${f.deployment}:failed:${f.jobId}`,
        phase: '-',
        interval: -1,
        policy,
        status: 'failed',
        reason: f.reason,
        baseMapVersion: 0,
        figures: { attempts: f.attempts },
        candidate: null,
        runMs: 0,
      },
      { actor: 'scheduler', reason: 'policy run failed after its retries', correlationId: `job:${f.jobId}` },
    );
    if (created) recordFailedPolicyRun(policy);
  }
}
