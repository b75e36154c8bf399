import type { RolloutStepInput } from '@eplb/contracts';
import type { DeploymentRecord, PolicyRunRecord } from '@eplb/persistence';

export interface SettingsResponse {
  policy: string;
  cadenceSeconds: number;
  threshold: number;
  minGain: number;
  maxTransfers: number | null;
  phase: string;
  mode: string;
  expertBytes: number;
  /** Rollouts nobody spelled out (automatic, approve-and-deploy) run with these. */
  rolloutSteps: RolloutStepInput[];
  rolloutOnFailure: 'rollback' | 'hold';
  rolloutBytesPerSecond: number | null;
  maxAutoRolloutsPerHour: number;
  settingsVersion: number;
  /** When the deployment entered its mode. */
  modeSince: string;
}

export const toSettingsResponse = (d: DeploymentRecord): SettingsResponse => ({
  ...d.settings,
  rolloutSteps: [...d.settings.rolloutSteps],
  settingsVersion: d.settingsVersion,
  modeSince: d.modeSince.toISOString(),
});

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
  candidate?: number[][];
}

export const toRunResponse = (r: PolicyRunRecord, withCandidate = false): PolicyRunResponse => ({
  id: r.id,
  status: r.status,
  reason: r.reason,
  policy: r.policy,
  phase: r.phase,
  interval: r.interval,
  baseMapVersion: r.baseMapVersion,
  runMs: r.runMs,
  createdAt: r.createdAt.toISOString(),
  figures: r.figures,
  decision: r.decision ? { decision: r.decision, by: r.decidedBy, at: r.decidedAt?.toISOString() ?? null, reason: r.decisionReason, mapVersion: r.mapVersion } : null,
  ...(withCandidate && r.candidate ? { candidate: r.candidate } : {}),
});
