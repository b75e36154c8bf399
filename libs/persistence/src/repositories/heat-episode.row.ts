import type { ClosedEpisode } from '@eplb/domain';
import { fromBytes } from './vector-bytes';

/** A stored episode with where it sits in time. */
export interface StoredEpisode extends ClosedEpisode {
  readonly deploymentId: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
}

/** The columns of a `heat_episodes` row, in the order the repository writes them. */
export const EPISODE_COLUMNS = `deployment_id, phase, episode, started_at, ended_at, start_step, end_step, slot_load, logical_load,
  imbalance, layer_versions, received, events, late_events, missing_ranks, missing_rank_steps, closed_by`;

export interface EpisodeRow {
  deployment_id: string;
  phase: string;
  episode: string;
  started_at: Date;
  ended_at: Date;
  start_step: string;
  end_step: string;
  slot_load: Buffer;
  logical_load: Buffer;
  imbalance: number[];
  layer_versions: number[];
  received: Buffer;
  events: number;
  late_events: number;
  missing_ranks: number[];
  missing_rank_steps: number;
  closed_by: 'complete' | 'watermark';
}

export const toEpisode = (r: EpisodeRow): StoredEpisode => ({
  deploymentId: r.deployment_id,
  phase: r.phase,
  episode: Number(r.episode),
  startedAt: r.started_at,
  endedAt: r.ended_at,
  startStep: Number(r.start_step),
  endStep: Number(r.end_step),
  slotLoad: fromBytes(r.slot_load),
  logicalLoad: fromBytes(r.logical_load),
  imbalance: Float64Array.from(r.imbalance),
  layerVersions: Int32Array.from(r.layer_versions),
  received: new Uint8Array(r.received),
  events: r.events,
  lateEvents: r.late_events,
  missingRanks: r.missing_ranks,
  missingRankSteps: r.missing_rank_steps,
  firstTsMs: r.started_at.getTime(),
  lastTsMs: r.ended_at.getTime(),
  closedBy: r.closed_by,
});
