import type { Proposal } from '@eplb/domain';
import type { RolloutStepInput } from '../rollout/rollout-streams';
import type { RolloutAccepted } from './rollouts';

export const POLICY_MODES = ['observe', 'approve', 'auto'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/** A deployment's policy settings: what the scheduler runs, how often, and what may deploy by itself. */
export interface PolicySettingsBody {
  policy: string;
  /** 0 disables scheduled runs. */
  cadenceSeconds: number;
  threshold: number;
  minGain: number;
  maxTransfers: number | null;
  phase: string;
  mode: PolicyMode;
  expertBytes: number;
  /** Rollouts nobody spelled out (automatic, approve-and-deploy) run with these. */
  rolloutSteps: RolloutStepInput[];
  rolloutOnFailure: 'rollback' | 'hold';
  rolloutBytesPerSecond: number | null;
  /** The automatic loop's cap; 0 turns automatic rollouts off. */
  maxAutoRolloutsPerHour: number;
}

/** `GET|PATCH /v1/deployments/{id}/settings`. */
export interface SettingsResponse extends PolicySettingsBody {
  settingsVersion: number;
  /** When the deployment entered its mode. */
  modeSince: string;
}

export const POLICY_RUN_STATUSES = ['proposed', 'nothing', 'failed'] as const;
export type PolicyRunStatus = (typeof POLICY_RUN_STATUSES)[number];

/** One policy run: a proposal, the decision that nothing is worth deploying, or a failure. */
export interface PolicyRunResponse {
  id: string;
  status: string;
  reason: string;
  policy: string;
  phase: string;
  interval: number;
  baseMapVersion: number;
  runMs: number;
  createdAt: string;
  figures: Record<string, unknown>;
  decision: { decision: string; by: string | null; at: string | null; reason: string | null; mapVersion: number | null } | null;
  /** `GET .../runs/{run}` only: the candidate map. */
  candidate?: number[][];
}

/** `GET /v1/deployments/{id}/runs`, newest first. */
export interface PolicyRunListResponse {
  items: PolicyRunResponse[];
}

/** `POST .../runs/{run}/approve`: the map version the proposal became, and its rollout when `deploy` asked for one. */
export interface ApprovalResponse {
  mapVersion: number;
  /** The rollout requested in the same call (`deploy: true`), with the deployment's rollout settings. */
  rollout?: RolloutAccepted;
}

/** `POST .../runs/{run}/reject`. */
export interface RejectRunResponse {
  rejected: true;
}

/** `POST /v1/deployments/{id}/what-if`: any policy on a stored range (default: the last hour) against any map version. */
export interface WhatIfRequest {
  policy?: string;
  phase?: 'prefill' | 'decode' | 'mixed';
  from?: string;
  to?: string;
  mapVersion?: number;
  threshold?: number;
  minGain?: number;
  maxTransfers?: number | null;
}

/** The answer to a what-if: a policy run on a stored range, recorded nowhere. */
export interface WhatIfResponse {
  policy: string;
  mapVersion: number;
  episodes: { from: number; to: number; count: number };
  runMs: number;
  status: Proposal['status'];
  reason: string;
  layers: Proposal['layers'];
  chosenLayers: number[];
  transfers: number;
  bytes: number;
  currentMean: number;
  candidateMean: number;
}
