import type { MapVersionInfo } from '@eplb/persistence';

/** A map version as the API shows it (no map): lineage, author, reason, and where it came from. */
export interface MapVersionResponse {
  version: number;
  parentVersion: number | null;
  createdAt: string;
  createdBy: string;
  reason: string;
  /** `initial` (version 1), `proposal` (an approved policy run), `import`, or what the creator named. */
  source: string;
  /** The rest of the creation event: `runId`, `policy`, `interval` for proposals; `format` for imports. */
  origin: Record<string, unknown>;
}

export interface MapVersionDetailResponse extends MapVersionResponse {
  deployment: string;
  numRanks: number;
  slotsPerRank: number;
  /** physical_to_logical[layer][slot] */
  physicalToLogical: number[][];
}

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
