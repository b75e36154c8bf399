// Use cases more than one app runs (scheduler and API): they combine the domain with storage.
export { PolicyRunner, toHeat, type PolicyRunOutcome } from './policy-runner';
export { ProposalDecisions } from './proposal-decisions';
export { PlanningModule } from './planning.module';
export { ProposalTimeLimitError } from './proposal-thread/propose-in-thread';
