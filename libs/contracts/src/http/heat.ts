/** One stored episode of a deployment's heat, under the map in force. */
export interface EpisodeResponse {
  episode: number;
  startStep: number;
  endStep: number;
  startedAt: string;
  endedAt: string;
  events: number;
  lateEvents: number;
  closedBy: string;
  missingRanks: number[];
  missingRankSteps: number;
  /** per layer: map version in force (0 when it changed inside the episode) */
  layerVersions: number[];
  /** per layer: max/mean rank load measured under the map in force */
  imbalance: number[];
  /** per layer × logical expert, when asked for (`loads=true`) */
  logical?: number[][];
}

/** `GET .../heat/episodes`: a page; pass `nextAfterEpisode` as `afterEpisode` to read on. */
export interface EpisodeListResponse {
  items: EpisodeResponse[];
  nextAfterEpisode: number | null;
}

/** `GET .../heat/heatmap` without `layer`: layers × experts summed over the range. */
export interface LayersHeatmap {
  deployment: string;
  phase: string;
  from: string;
  to: string;
  resolution: string;
  /** counts[layer][expert]: tokens routed to each logical expert over the range */
  counts: number[][];
}

/** `GET .../heat/heatmap?layer=N`: one layer × experts × time. */
export interface LayerTimeHeatmap {
  deployment: string;
  phase: string;
  layer: number;
  resolution: string;
  /** one row per time bucket: counts[expert] (encoding `json`) */
  buckets?: { t: string; counts: number[] }[];
  /**
   * encoding `f32`: bucket start times, and base64 of a row-major buckets × experts matrix of
   * little-endian float32 — a week of minutes of one layer is 10 MB this way, which a dashboard
   * turns into a Float32Array without parsing 2.6 M numbers
   */
  t?: string[];
  experts?: number;
  f32?: string;
  /** pass as `from` to read on; null at the end */
  next: string | null;
}

export interface HotExpert {
  layer: number;
  expert: number;
  count: number;
  /** fraction of the layer's tokens over the range */
  share: number;
}

/** `GET .../heat/top`: the k hottest (layer, logical expert) pairs. */
export interface TopExpertsResponse {
  resolution: string;
  items: HotExpert[];
}

/** `GET .../heat/imbalance`. */
export interface ImbalanceTrend {
  resolution: string;
  /** per bucket and layer: mean and max of the per-episode imbalance (max/mean rank load) under the map in force */
  buckets: { t: string; episodes: number; mean: number[]; max: number[] }[];
  /** pass as `from` to read on; null at the end */
  next: string | null;
  /** same figure as vLLM's "balancedness" (mean/max), for users who compare */
  note: string;
}

/** `GET .../heat/export/heat-file`: the offline heat file `eplb plan --input` reads. */
export interface HeatFile {
  num_ranks: number;
  num_nodes: number;
  slots_per_rank: number;
  num_groups?: number;
  heat: number[][][];
  current: number[][];
  /** provenance: where the episodes came from; `map_version` of `current`, the map in service (null while layers are on different versions) */
  source: { deployment: string; phase: string; from_episode: number; to_episode: number; map_version: number | null };
}
