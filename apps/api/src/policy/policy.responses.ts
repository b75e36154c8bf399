import type { PolicyRunResponse, SettingsResponse } from '@eplb/contracts';
import type { DeploymentRecord, PolicyRunRecord } from '@eplb/persistence';

export const toSettingsResponse = (d: DeploymentRecord): SettingsResponse => ({
  ...d.settings,
  rolloutSteps: [...d.settings.rolloutSteps],
  settingsVersion: d.settingsVersion,
  modeSince: d.modeSince.toISOString(),
});

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
