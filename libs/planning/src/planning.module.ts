import { Module } from '@nestjs/common';
import { DeploymentRepository, FollowedDeploymentViews, HeatWindowRepository, PolicyRunRepository } from '@eplb/persistence';
import { PolicyRunner } from './policy-runner';
import { ProposalDecisions } from './proposal-decisions';

/** The planning use cases for Nest apps; needs DatabaseModule (global) for its repositories. */
@Module({
  providers: [
    { provide: PolicyRunner, inject: [DeploymentRepository, HeatWindowRepository], useFactory: (d: DeploymentRepository, w: HeatWindowRepository) => new PolicyRunner(d, w) },
    {
      provide: ProposalDecisions,
      inject: [PolicyRunRepository, DeploymentRepository, FollowedDeploymentViews],
      useFactory: (r: PolicyRunRepository, d: DeploymentRepository, rollouts: FollowedDeploymentViews) => new ProposalDecisions(r, d, rollouts),
    },
  ],
  exports: [PolicyRunner, ProposalDecisions],
})
export class PlanningModule {}
