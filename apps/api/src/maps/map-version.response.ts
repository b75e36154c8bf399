import type { MapVersionResponse } from '@eplb/contracts';
import type { MapVersionInfo } from '@eplb/persistence';

export function sourceOf(v: Pick<MapVersionInfo, 'version' | 'origin'>): string {
  if (typeof v.origin.source === 'string') return v.origin.source;
  if (typeof v.origin.runId === 'string') return 'proposal';
  return v.version === 1 ? 'initial' : 'unknown';
}

export const toMapVersionResponse = (v: MapVersionInfo): MapVersionResponse => {
  const { source: _source, ...origin } = v.origin;
  return {
    version: v.version,
    parentVersion: v.parentVersion,
    createdAt: v.createdAt.toISOString(),
    createdBy: v.createdBy,
    reason: v.reason,
    source: sourceOf(v),
    origin,
  };
};
