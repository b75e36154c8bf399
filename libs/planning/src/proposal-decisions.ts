import { intervalCorrelationId } from '@eplb/contracts';
import { DomainError } from '@eplb/domain';
import { DeploymentRepository, EventMeta, FollowedDeploymentViews, PolicyRunRepository, StaleMapVersionError } from '@eplb/persistence';

/**
 * Approving a proposal makes its candidate the next map version (for the rollout service to
 * deploy); rejecting records why not. Both once, both audited. Used by operators through the API
 * and by the scheduler in `auto` mode. Both continue the run's chain of custody: their events
 * carry the run's correlation id, and the caller's own (an HTTP request's) is the payload's
 * `requestId` when it differs.
 */
export class ProposalDecisions {
  constructor(
    private readonly runs: PolicyRunRepository,
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: FollowedDeploymentViews,
  ) {}

  /**
   * The proposal's candidate becomes the next map version — only while the map it was planned
   * against is still the one in service (else its projections say nothing about the map it would
   * replace: 409). Versions approved since but never deployed do not make it stale.
   */
  async approve(deploymentId: string, runId: string, meta: EventMeta): Promise<{ mapVersion: number }> {
    const d = await this.deployments.find(deploymentId);
    if (!d) throw new DomainError('not-found', `deployment ${deploymentId} does not exist`);
    const inService = (await this.rollouts.refresh(deploymentId)).inService(d.numLayers);
    return this.runs.transaction(async (em) => {
      const run = await this.decidable(deploymentId, runId, em);
      if (inService !== run.baseMapVersion) {
        const now = inService === null ? 'layers are on different versions (a held rollout)' : `v${inService} is in service`;
        throw new DomainError('conflict', `proposal ${runId} is stale: planned against v${run.baseMapVersion}, but ${now}`);
      }
      const { chain, requestId } = chained(meta, run);
      try {
        const origin = { runId, policy: run.policy, interval: run.interval, ...requestId };
        const version = await this.deployments.createMapVersion(em, deploymentId, run.baseMapVersion, run.candidate!, chain, origin, { parentMayBeOlder: true });
        await this.runs.decide(em, runId, 'approved', chain, version, deploymentId, requestId);
        return { mapVersion: version };
      } catch (err) {
        if (err instanceof StaleMapVersionError) throw new DomainError('conflict', `proposal ${runId} is stale: ${err.message}`);
        throw err;
      }
    });
  }

  async reject(deploymentId: string, runId: string, meta: EventMeta): Promise<void> {
    await this.runs.transaction(async (em) => {
      const run = await this.decidable(deploymentId, runId, em);
      const { chain, requestId } = chained(meta, run);
      await this.runs.decide(em, runId, 'rejected', chain, null, deploymentId, requestId);
    });
  }

  private async decidable(deploymentId: string, runId: string, em: Parameters<PolicyRunRepository['get']>[2]) {
    const run = await this.runs.get(deploymentId, runId, em, true);
    if (!run) throw new DomainError('not-found', `deployment ${deploymentId} has no proposal ${runId}`);
    if (run.status !== 'proposed' || !run.candidate) throw new DomainError('conflict', `run ${runId} is not a proposal (${run.status}: ${run.reason})`);
    if (run.decision) throw new DomainError('conflict', `proposal ${runId} was already ${run.decision} by ${run.decidedBy}`);
    return run;
  }
}

/** The decision's meta on the run's chain, and the caller's own correlation id when it differs. */
function chained(meta: EventMeta, run: { deploymentId: string; phase: string; interval: number }): { chain: EventMeta; requestId: { requestId?: string } } {
  const correlationId = intervalCorrelationId(run.deploymentId, run.phase, run.interval);
  return { chain: { ...meta, correlationId }, requestId: meta.correlationId === correlationId ? {} : { requestId: meta.correlationId } };
}
