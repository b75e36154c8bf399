import type { LayerDiff, MapDiffTotals } from '@eplb/domain';

/** A map version as the API lists it (no map): lineage, author, reason, and where it came from. */
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

/** `GET /v1/deployments/{id}/maps`, newest first; `next` is the `before` of the next page. */
export interface MapVersionListResponse {
  latest: number;
  items: MapVersionResponse[];
  next: number | null;
}

/** `GET /v1/deployments/{id}/maps/{version}`: the version with its map. */
export interface MapVersionDetailResponse extends MapVersionResponse {
  deployment: string;
  numRanks: number;
  slotsPerRank: number;
  /** physical_to_logical[layer][slot] */
  physicalToLogical: number[][];
}

/** `GET .../maps/{version}/diff`: what rolling `version` out on top of `against` changes, per layer. */
export interface MapDiffResponse {
  deployment: string;
  version: number;
  /** Default: the version's parent. */
  against: number;
  /** Bytes per expert (the deployment's `expertBytes` setting). */
  expertBytes: number;
  layers: LayerDiff[];
  totals: MapDiffTotals;
}

/** `POST /v1/deployments/{id}/maps`: a new version from an engine's map file. */
export interface ImportMapRequest {
  format: string;
  /** The file's text (JSON, or YAML for trtllm), or the JSON document itself. */
  document: string | Record<string, unknown>;
  reason: string;
  /** The version the map was made against; refused (409) unless it is the latest. */
  parent?: number;
  /** Model layer id of MoE layer 0, for sglang and trtllm files keyed by model layer. */
  firstMoeLayer?: number;
}
