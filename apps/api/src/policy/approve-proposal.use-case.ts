import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApprovalResponse, RolloutRequestedPayload } from '@eplb/contracts';
import { ROLLOUT_STATUS } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, DeploymentRolloutsReader, EventMeta, PolicyRunRepository, RolloutEventRepository } from '@eplb/persistence';
import { ProposalDecisions } from '@eplb/planning';
import { conflictProblem, notFoundProblem } from '@eplb/platform';
import { RolloutAgentsCheck } from '../rollouts/rollout-agents.check';

export interface ApproveProposalCommand {
  readonly reason: string;
  /** Request the rollout of the new version in the same call, with the deployment's rollout settings (approve mode). */
  readonly deploy?: boolean;
  /** With deploy: queue the rollout even when nodes it needs have no live agent. */
  readonly force?: boolean;
}

/**
 * An operator approves a proposal: its candidate becomes the next map version; with `deploy`,
 * the rollout of that version is requested too, with the deployment's rollout settings (steps,
 * gates, bytes/s cap, on-failure). Everything that would refuse the rollout — not in approve
 * mode, a rollout requested or running, nodes without a live agent — is checked before anything
 * is recorded, so a refused call changes nothing.
 */
@Injectable()
export class ApproveProposalUseCase {
  constructor(
    private readonly decisions: ProposalDecisions,
    private readonly deployments: DeploymentRepository,
    private readonly runs: PolicyRunRepository,
    private readonly rollouts: DeploymentRolloutsReader,
    private readonly events: RolloutEventRepository,
    private readonly agents: RolloutAgentsCheck,
  ) {}

  async execute(dep: string, runId: string, cmd: ApproveProposalCommand, meta: EventMeta): Promise<ApprovalResponse> {
    const approvalMeta = { ...meta, reason: cmd.reason };
    if (!cmd.deploy) return this.decisions.approve(dep, runId, approvalMeta);
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    await this.refuseToDeploy(d, runId, cmd);
    const { mapVersion } = await this.decisions.approve(dep, runId, approvalMeta);
    const rolloutId = randomUUID();
    const s = d.settings;
    const payload: RolloutRequestedPayload = {
      rolloutId,
      mapVersion,
      steps: [...s.rolloutSteps],
      onFailure: s.rolloutOnFailure,
      ...(s.rolloutBytesPerSecond ? { bytesPerSecond: s.rolloutBytesPerSecond } : {}),
      ...(cmd.force ? { forced: true } : {}),
      runId,
    };
    const done = await this.events.requestIfIdle(dep, payload, { ...meta, reason: `approved run ${runId} and deploy: ${cmd.reason}` });
    if (!done.ok) throw conflictProblem(`run ${runId} was approved as map version ${mapVersion}, but not rolled out: rollout ${done.busy ?? ''} started meanwhile (request it once that one is done)`);
    return { mapVersion, rollout: { rolloutId, status: ROLLOUT_STATUS.requested } };
  }

  private async refuseToDeploy(d: DeploymentRecord, runId: string, cmd: ApproveProposalCommand): Promise<void> {
    if (d.settings.mode !== 'approve') {
      throw conflictProblem(`deploy on approval is for approve mode; ${d.id} is in ${d.settings.mode} mode (${d.settings.mode === 'auto' ? 'the automatic loop deploys' : 'observe never deploys'})`);
    }
    const { view } = await this.rollouts.load(d.id);
    const inTheWay = view.active() ?? view.pending()[0]?.payload.rolloutId;
    if (inTheWay) throw conflictProblem(`rollout ${inTheWay} of ${d.id} is not finished; one rollout at a time (approve without deploy, or wait)`);
    const run = await this.runs.get(d.id, runId);
    if (!run) throw notFoundProblem(`deployment ${d.id} has no run ${runId}`);
    if (!cmd.force && run.candidate) await this.agents.refuseWithoutAgents(d, view, run.candidate, `run ${runId}'s candidate`);
  }
}
