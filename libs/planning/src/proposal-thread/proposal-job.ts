import type { DeploymentShape, LayerPlacement, Proposal, ProposalSettings } from '@eplb/domain';

/** What a proposal thread is given: the shape, one L × E vector of logical loads per episode, the map, the settings. */
export interface ProposalJob {
  readonly shape: DeploymentShape;
  readonly loads: readonly Float64Array[];
  readonly current: readonly LayerPlacement[];
  readonly settings: ProposalSettings;
}

/** What it answers: the proposal, or the domain error that refused the job (rebuilt on this side). */
export type ProposalReply = { ok: true; proposal: Proposal } | { ok: false; code: string; message: string; field?: string };
