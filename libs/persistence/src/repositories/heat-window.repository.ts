import { DataSource, EntityManager } from 'typeorm';
import { heatStream, intervalCorrelationId } from '@eplb/contracts';
import { ClosedEpisode, intervalOfEpisode, measuredImbalance, OutcomeInterval, StreamResume, WindowShape } from '@eplb/domain';
import { appendEvents } from './event-store';
import { EPISODE_COLUMNS, EpisodeRow, StoredEpisode, toEpisode } from './heat-episode.row';
import { foldIntoRollups } from './heat-rollups.writer';
import { addBytes32, fromBytes, fromBytes32, toBytes } from './vector-bytes';

/**
 * How far a worker's clock (the `ts` of its reports, hence an episode's `started_at`) may be from
 * the database's and its episodes still be found by the time they were stored.
 */
export const WORKER_CLOCK_TOLERANCE_MS = 86_400_000;

export type { StoredEpisode } from './heat-episode.row';

export interface StoredInterval {
  readonly deploymentId: string;
  readonly phase: string;
  readonly interval: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly startStep: number;
  readonly endStep: number;
  readonly episodes: number;
  readonly slotLoad: Float64Array;
  readonly logicalLoad: Float64Array;
  readonly imbalance: number[];
  readonly events: number;
  readonly missingRankSteps: number;
}

const dayStart = (ms: number): Date => {
  const d = new Date(ms);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
};
const dayName = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');

/**
 * Episodes, intervals and rollups of the heat history. Hand-written SQL: these rows carry large
 * load vectors as bytea, and entity hydration would only add copies.
 */
export class HeatWindowRepository {
  private readonly partitionsMade = new Set<string>();

  constructor(private readonly ds: DataSource) {}

  /** Serialises writers of one deployment's heat within the caller's transaction. */
  async lock(em: EntityManager, deploymentId: string): Promise<void> {
    await em.query(`SELECT pg_advisory_xact_lock(hashtext('eplb.heat:' || $1))`, [deploymentId]);
  }

  /** Daily partitions of the time-partitioned tables, created before the first row of a day lands. */
  async ensurePartitions(timestampsMs: Iterable<number>): Promise<void> {
    const days = new Map<string, Date>();
    for (const ms of timestampsMs) {
      const d = dayStart(ms);
      days.set(dayName(d), d);
    }
    for (const [name, start] of days) {
      if (this.partitionsMade.has(name)) continue;
      const end = new Date(start.getTime() + 86_400_000);
      for (const table of ['heat_episodes', 'heat_rollups']) {
        await this.ds
          .query(`CREATE TABLE IF NOT EXISTS ${table}_${name} PARTITION OF ${table} FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`)
          .catch((err: { code?: string }) => {
            // Rows of that day already sit in the default partition, or a concurrent creator won: both leave data reachable.
            if (err.code !== '23514' && err.code !== '42P07') throw err;
          });
      }
      this.partitionsMade.add(name);
    }
  }

  /** Drops daily partitions wholly older than the cut-off; returns the tables dropped. */
  async dropPartitionsBefore(cutoff: Date): Promise<string[]> {
    const rows: { name: string }[] = await this.ds.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname IN ('heat_episodes', 'heat_rollups') AND c.relname ~ '_[0-9]{8}$'`,
    );
    const limit = dayName(dayStart(cutoff.getTime()));
    const dropped: string[] = [];
    for (const { name } of rows) {
      if (name.slice(-8) < limit) {
        await this.ds.query(`DROP TABLE IF EXISTS ${name}`);
        this.partitionsMade.delete(name.slice(-8));
        dropped.push(name);
      }
    }
    return dropped;
  }

  /** Where an episode stream resumes after a restart. */
  async resume(deploymentId: string, phase: string, w: WindowShape): Promise<StreamResume> {
    const [bounds]: { max_end: string | null; min_episode: string | null; sealed: string | null }[] = await this.ds.query(
      `SELECT (SELECT max(end_step) FROM heat_episodes WHERE deployment_id = $1 AND phase = $2) AS max_end,
              (SELECT min(episode) FROM heat_episodes WHERE deployment_id = $1 AND phase = $2) AS min_episode,
              (SELECT max(interval) FROM heat_intervals WHERE deployment_id = $1 AND phase = $2) AS sealed`,
      [deploymentId, phase],
    );
    const maxEndStep = bounds.max_end === null ? 0 : Number(bounds.max_end);
    const closedFloor = Math.floor(Math.max(0, maxEndStep - w.latenessSteps) / w.episodeSteps);
    const stored: { episode: string }[] = await this.ds.query(
      `SELECT episode FROM heat_episodes WHERE deployment_id = $1 AND phase = $2 AND episode >= $3`,
      [deploymentId, phase, closedFloor],
    );
    const nextInterval =
      bounds.sealed !== null ? Number(bounds.sealed) + 1 : bounds.min_episode !== null ? intervalOfEpisode(w, Number(bounds.min_episode)) : null;
    return { maxEndStep, closedFloor, closedEpisodes: stored.map((r) => Number(r.episode)), nextInterval };
  }

  async insertEpisodes(em: EntityManager, deploymentId: string, episodes: readonly ClosedEpisode[]): Promise<number> {
    let stored = 0;
    for (const e of episodes) {
      const rows: unknown[] = await em.query(
        `INSERT INTO heat_episodes (${EPISODE_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT DO NOTHING RETURNING episode`,
        this.episodeParams(deploymentId, e),
      );
      stored += rows.length;
    }
    return stored;
  }

  async loadEpisodeForUpdate(em: EntityManager, deploymentId: string, phase: string, episode: number): Promise<StoredEpisode | null> {
    const rows: EpisodeRow[] = await em.query(
      `SELECT ${EPISODE_COLUMNS} FROM heat_episodes WHERE deployment_id = $1 AND phase = $2 AND episode = $3 FOR UPDATE`,
      [deploymentId, phase, episode],
    );
    return rows.length ? toEpisode(rows[0]) : null;
  }

  /** Rewrites a stored episode after a late report was merged into it. */
  async replaceEpisode(em: EntityManager, deploymentId: string, e: ClosedEpisode, startedAt: Date): Promise<void> {
    const p = this.episodeParams(deploymentId, e);
    await em.query(
      `UPDATE heat_episodes SET ended_at = $5, slot_load = $8, logical_load = $9, imbalance = $10, layer_versions = $11,
         received = $12, events = $13, late_events = $14, missing_ranks = $15, missing_rank_steps = $16
       WHERE deployment_id = $1 AND phase = $2 AND episode = $3 AND started_at = $18`,
      [...p, startedAt],
    );
  }

  private episodeParams(deploymentId: string, e: ClosedEpisode): unknown[] {
    return [
      deploymentId,
      e.phase,
      e.episode,
      new Date(e.firstTsMs),
      new Date(Math.max(e.lastTsMs, e.firstTsMs)),
      e.startStep,
      e.endStep,
      toBytes(e.slotLoad),
      toBytes(e.logicalLoad),
      Array.from(e.imbalance),
      Array.from(e.layerVersions),
      Buffer.from(e.received),
      e.events,
      e.lateEvents,
      e.missingRanks,
      e.missingRankSteps,
      e.closedBy,
    ];
  }

  /**
   * Seals an interval: sums its episodes into the interval row and folds them into the minute
   * and hour rollups, once (the interval row's key guards against a second seal), and records
   * `interval.sealed` in the deployment's `heat:<id>` stream under the interval's correlation id.
   */
  async sealInterval(em: EntityManager, deploymentId: string, phase: string, interval: number, w: WindowShape): Promise<boolean> {
    const perInterval = w.intervalSteps / w.episodeSteps;
    const rows: EpisodeRow[] = await em.query(
      `SELECT ${EPISODE_COLUMNS} FROM heat_episodes WHERE deployment_id = $1 AND phase = $2 AND episode >= $3 AND episode < $4 ORDER BY episode`,
      [deploymentId, phase, interval * perInterval, (interval + 1) * perInterval],
    );
    const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = w;
    const P = R * S;
    const slot = new Float64Array(L * P);
    const logical = new Float64Array(L * E);
    let events = 0;
    let missing = (perInterval - rows.length) * R * w.episodeSteps;
    const episodes = rows.map(toEpisode);
    for (const e of episodes) {
      for (let i = 0; i < slot.length; i++) slot[i] += e.slotLoad[i];
      for (let i = 0; i < logical.length; i++) logical[i] += e.logicalLoad[i];
      events += e.events;
      missing += e.missingRankSteps;
    }
    const imbalance = Array.from({ length: L }, (_, l) => measuredImbalance(slot, l * P, R, S));
    const startedAt = episodes.length ? episodes[0].startedAt : new Date(0);
    const endedAt = episodes.length ? new Date(Math.max(...episodes.map((e) => e.endedAt.getTime()))) : new Date(0);
    const inserted: unknown[] = await em.query(
      `INSERT INTO heat_intervals (deployment_id, phase, interval, started_at, ended_at, start_step, end_step, episodes, slot_load, logical_load, imbalance, events, missing_rank_steps)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING RETURNING interval`,
      [deploymentId, phase, interval, startedAt, endedAt, interval * w.intervalSteps, (interval + 1) * w.intervalSteps, episodes.length, toBytes(slot), toBytes(logical), imbalance, events, missing],
    );
    if (inserted.length === 0) return false;
    await foldIntoRollups(em, deploymentId, phase, episodes, w);
    // the first link of the chain of custody: runs planned from this interval carry its id
    await appendEvents(em, [
      {
        stream: heatStream(deploymentId),
        type: 'interval.sealed',
        payload: { phase, interval, startStep: interval * w.intervalSteps, endStep: (interval + 1) * w.intervalSteps, episodes: episodes.length, events, missingRankSteps: missing, imbalance: imbalance.reduce((a, b) => a + b, 0) / Math.max(1, L) },
        actor: 'service:collector',
        reason: `${phase} interval ${interval} sealed (${episodes.length} of ${perInterval} episodes stored)`,
        correlationId: intervalCorrelationId(deploymentId, phase, interval),
      },
    ]);
    return true;
  }

  // ---- reads for the analyst API and the policies ----

  async episodes(deploymentId: string, phase: string, q: { fromMs?: number; toMs?: number; afterEpisode?: number; limit: number }): Promise<StoredEpisode[]> {
    const rows: EpisodeRow[] = await this.ds.query(
      `SELECT ${EPISODE_COLUMNS} FROM heat_episodes
       WHERE deployment_id = $1 AND phase = $2 AND started_at >= $3 AND started_at < $4 AND episode > $5
       ORDER BY episode LIMIT $6`,
      [deploymentId, phase, new Date(q.fromMs ?? 0), new Date(q.toMs ?? 8.64e15), q.afterEpisode ?? -1, q.limit],
    );
    return rows.map(toEpisode);
  }

  /**
   * Episodes of a range in order, with only what the analyst views fold: the start, per-layer
   * imbalance and (`withLoads`) logical loads — of one layer when `layer` is given, cut out in SQL
   * so only that layer travels. `limit` bounds the rows; nothing else of the episode is read.
   */
  async episodeSeries(
    deploymentId: string,
    phase: string,
    q: { fromMs: number; toMs: number; limit: number; withLoads: boolean; layer?: number; numExperts: number },
  ): Promise<{ episode: number; startedAt: Date; imbalance: number[]; logical: Float64Array | null }[]> {
    const E = q.numExperts;
    const loads = !q.withLoads ? 'NULL' : q.layer === undefined ? 'logical_load' : 'substring(logical_load FROM $6::int * $7::int * 8 + 1 FOR $7::int * 8)';
    const rows: { episode: string; started_at: Date; imbalance: number[]; logical_load: Buffer | null }[] = await this.ds.query(
      `SELECT episode, started_at, imbalance, ${loads} AS logical_load FROM heat_episodes
       WHERE deployment_id = $1 AND phase = $2 AND started_at >= $3 AND started_at < $4
       ORDER BY episode LIMIT $5`,
      [deploymentId, phase, new Date(q.fromMs), new Date(q.toMs), q.limit, ...(q.withLoads && q.layer !== undefined ? [q.layer, E] : [])],
    );
    return rows.map((r) => ({ episode: Number(r.episode), startedAt: r.started_at, imbalance: r.imbalance, logical: r.logical_load ? fromBytes(r.logical_load) : null }));
  }

  /** How many episodes start in a range, counted up to `atMost` (a bound, not a full count). */
  async countEpisodes(deploymentId: string, phase: string, q: { fromMs: number; toMs: number; atMost: number }): Promise<number> {
    const [row]: { n: number }[] = await this.ds.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM heat_episodes WHERE deployment_id = $1 AND phase = $2 AND started_at >= $3 AND started_at < $4 LIMIT $5) e`,
      [deploymentId, phase, new Date(q.fromMs), new Date(q.toMs), q.atMost],
    );
    return row.n;
  }

  /** The first `limit` rollup bucket starts of a range, in order (found on one layer's rows: every bucket has all layers). */
  async rollupBucketStarts(deploymentId: string, phase: string, resolution: 'minute' | 'hour', q: { fromMs: number; toMs: number; layer: number; limit: number }): Promise<number[]> {
    const rows: { bucket: Date }[] = await this.ds.query(
      `SELECT bucket FROM heat_rollups
       WHERE deployment_id = $1 AND phase = $2 AND resolution = $3 AND layer = $4 AND bucket >= $5 AND bucket < $6
       ORDER BY bucket LIMIT $7`,
      [deploymentId, phase, resolution, q.layer, new Date(q.fromMs), new Date(q.toMs), q.limit],
    );
    return rows.map((r) => r.bucket.getTime());
  }

  /** The newest `limit` episodes' missing ranks, newest first (a rank whose heat stopped is missing from each). */
  async newestMissingRanks(deploymentId: string, phase: string, limit: number): Promise<{ episode: number; missingRanks: number[] }[]> {
    const rows: { episode: string; missing_ranks: number[] }[] = await this.ds.query(
      `SELECT episode, missing_ranks FROM heat_episodes WHERE deployment_id = $1 AND phase = $2 ORDER BY episode DESC LIMIT $3`,
      [deploymentId, phase, limit],
    );
    return rows.map((r) => ({ episode: Number(r.episode), missingRanks: r.missing_ranks }));
  }

  /** Episodes [fromEpisode, toEpisode) in order. */
  async episodesOfRange(deploymentId: string, phase: string, fromEpisode: number, endEpisode: number): Promise<StoredEpisode[]> {
    const rows: EpisodeRow[] = await this.ds.query(
      `SELECT ${EPISODE_COLUMNS} FROM heat_episodes WHERE deployment_id = $1 AND phase = $2 AND episode >= $3 AND episode < $4 ORDER BY episode`,
      [deploymentId, phase, fromEpisode, endEpisode],
    );
    return rows.map(toEpisode);
  }

  /**
   * Per episode, the measured imbalance and map version of the chosen layers only, for the
   * rollout's analysis gate. Only episodes where each chosen layer was on one version throughout
   * (layer_versions ≠ 0), and on `version` when given; with `completeOnly`, only episodes every
   * rank reported every step of. `newest` picks the most recent `limit` episodes (returned newest
   * first), else the oldest (oldest first). Range on `stored_at`: [storedFromMs, storedBeforeMs),
   * the database's clock when the collector stored the episode: workers' clocks (`started_at`,
   * from their reports' `ts`) can be off by minutes, so comparing them with a time the control
   * plane took (a rollout's start, a commit) would judge the wrong episodes. `started_at` is only
   * held within WORKER_CLOCK_TOLERANCE_MS of that range, so the search stays in a few daily
   * partitions.
   * With `numExperts`, also each chosen layer's logical load (cut out of the bytea in SQL, so only
   * those layers travel), for the paired gate's counterfactual; absent when the episode's vector
   * is shorter than that.
   */
  async layerImbalances(
    deploymentId: string,
    phase: string,
    q: { layers: readonly number[]; storedFromMs?: number; storedBeforeMs?: number; version?: number; completeOnly?: boolean; newest?: boolean; limit: number; numExperts?: number },
  ): Promise<{ episode: number; startedAt: Date; imbalance: number[]; layerVersions: number[]; missingRankSteps: number; logicalLoad?: Float64Array[] }[]> {
    const E = q.numExperts;
    if (E !== undefined && !(Number.isInteger(E) && E > 0)) throw new RangeError(`layerImbalances: numExperts must be a positive integer, got ${E}`);
    const rows: { episode: string; started_at: Date; imbalance: number[]; layer_versions: number[]; missing_rank_steps: number; logical_load: Buffer | null }[] = await this.ds.query(
      `SELECT episode, started_at, missing_rank_steps,
              ARRAY(SELECT imbalance[t.i + 1] FROM unnest($3::int[]) WITH ORDINALITY AS t(i, o) ORDER BY t.o) AS imbalance,
              ARRAY(SELECT layer_versions[t.i + 1] FROM unnest($3::int[]) WITH ORDINALITY AS t(i, o) ORDER BY t.o) AS layer_versions,
              CASE WHEN $9::int IS NULL THEN NULL ELSE
                (SELECT string_agg(substring(logical_load FROM t.i * $9::int * 8 + 1 FOR $9::int * 8), ''::bytea ORDER BY t.o)
                 FROM unnest($3::int[]) WITH ORDINALITY AS t(i, o)) END AS logical_load
       FROM heat_episodes
       WHERE deployment_id = $1 AND phase = $2 AND stored_at >= $4 AND stored_at < $5 AND started_at >= $10 AND started_at < $11
         AND ($7::bool IS NOT TRUE OR missing_rank_steps = 0)
         AND NOT EXISTS (
           SELECT 1 FROM unnest($3::int[]) AS t(i)
           WHERE coalesce(layer_versions[t.i + 1], 0) = 0 OR imbalance[t.i + 1] IS NULL OR ($6::int IS NOT NULL AND layer_versions[t.i + 1] <> $6::int))
       ORDER BY started_at ${q.newest ? 'DESC' : 'ASC'}, episode ${q.newest ? 'DESC' : 'ASC'}
       LIMIT $8`,
      [
        deploymentId,
        phase,
        q.layers,
        new Date(q.storedFromMs ?? 0),
        new Date(q.storedBeforeMs ?? 8.64e15),
        q.version ?? null,
        q.completeOnly ?? false,
        q.limit,
        E ?? null,
        new Date(q.storedFromMs === undefined ? 0 : q.storedFromMs - WORKER_CLOCK_TOLERANCE_MS),
        new Date(q.storedBeforeMs === undefined ? 8.64e15 : q.storedBeforeMs + WORKER_CLOCK_TOLERANCE_MS),
      ],
    );
    return rows.map((r) => {
      const out = {
        episode: Number(r.episode),
        startedAt: r.started_at,
        imbalance: r.imbalance.map(Number),
        layerVersions: r.layer_versions.map(Number),
        missingRankSteps: r.missing_rank_steps,
      };
      if (E === undefined) return out;
      const b = r.logical_load;
      // a short piece (a vector of another shape, or none) shows as a short total: no slices then
      if (!b || b.length !== q.layers.length * E * 8) return out;
      return { ...out, logicalLoad: q.layers.map((_, k) => fromBytes(b.subarray(k * E * 8, (k + 1) * E * 8))) };
    });
  }

  /**
   * Sealed intervals chosen by when they were sealed (`sealed_at`, the database's clock, as the
   * control plane's events are): `sealedFromMs` on and/or before `sealedBeforeMs`, up to `limit`
   * of them, the newest (`newest`) or the oldest; returned in interval order, each with its
   * episodes' measured imbalance, layer versions and `stored_at` (no load vectors) — what a
   * rollout's outcome and the loop's cool-down judge with `intervalMeasuredUnder`.
   */
  async sealedIntervals(
    deploymentId: string,
    phase: string,
    episodesPerInterval: number,
    q: { sealedFromMs?: number; sealedBeforeMs?: number; newest?: boolean; limit: number },
  ): Promise<OutcomeInterval[]> {
    const rows: { interval: string; started_at: Date; ended_at: Date }[] = await this.ds.query(
      `SELECT interval, started_at, ended_at FROM heat_intervals
       WHERE deployment_id = $1 AND phase = $2 AND sealed_at >= $3 AND sealed_at < $4
       ORDER BY interval ${q.newest ? 'DESC' : 'ASC'} LIMIT $5`,
      [deploymentId, phase, new Date(q.sealedFromMs ?? 0), new Date(q.sealedBeforeMs ?? 8.64e15), q.limit],
    );
    if (rows.length === 0) return [];
    const numbers = rows.map((r) => Number(r.interval)).sort((a, b) => a - b);
    const eps: { episode: string; started_at: Date; stored_at: Date; imbalance: number[]; layer_versions: number[] }[] = await this.ds.query(
      `SELECT episode, started_at, stored_at, imbalance, layer_versions FROM heat_episodes
       WHERE deployment_id = $1 AND phase = $2 AND episode >= $3 AND episode < $4 AND (episode / $5) = ANY($6::bigint[])
       ORDER BY episode`,
      [deploymentId, phase, numbers[0] * episodesPerInterval, (numbers[numbers.length - 1] + 1) * episodesPerInterval, episodesPerInterval, numbers],
    );
    const byInterval = new Map<number, OutcomeInterval['episodes'][number][]>(numbers.map((n) => [n, []]));
    for (const e of eps) {
      const n = Math.floor(Number(e.episode) / episodesPerInterval);
      byInterval.get(n)?.push({
        episode: Number(e.episode),
        startedAtMs: e.started_at.getTime(),
        storedAtMs: e.stored_at.getTime(),
        imbalance: e.imbalance.map(Number),
        layerVersions: e.layer_versions.map(Number),
      });
    }
    return rows
      .map((r) => ({ interval: Number(r.interval), startedAtMs: r.started_at.getTime(), endedAtMs: r.ended_at.getTime(), episodes: byInterval.get(Number(r.interval)) ?? [] }))
      .sort((a, b) => a.interval - b.interval);
  }

  async intervals(deploymentId: string, phase: string, q: { fromMs?: number; toMs?: number; limit: number }): Promise<StoredInterval[]> {
    const rows: {
      deployment_id: string; phase: string; interval: string; started_at: Date; ended_at: Date; start_step: string; end_step: string;
      episodes: number; slot_load: Buffer; logical_load: Buffer; imbalance: number[]; events: number; missing_rank_steps: number;
    }[] = await this.ds.query(
      `SELECT * FROM heat_intervals WHERE deployment_id = $1 AND phase = $2 AND started_at >= $3 AND started_at < $4 ORDER BY interval DESC LIMIT $5`,
      [deploymentId, phase, new Date(q.fromMs ?? 0), new Date(q.toMs ?? 8.64e15), q.limit],
    );
    return rows.map((r) => ({
      deploymentId: r.deployment_id,
      phase: r.phase,
      interval: Number(r.interval),
      startedAt: r.started_at,
      endedAt: r.ended_at,
      startStep: Number(r.start_step),
      endStep: Number(r.end_step),
      episodes: r.episodes,
      slotLoad: fromBytes(r.slot_load),
      logicalLoad: fromBytes(r.logical_load),
      imbalance: r.imbalance,
      events: r.events,
      missingRankSteps: r.missing_rank_steps,
    }));
  }

  /**
   * One layer's rollup vectors over a range, as stored (float32 little-endian, E per bucket), for
   * callers that ship them on without touching each number (dashboards decode them in the browser).
   */
  async rollupBytes(deploymentId: string, phase: string, resolution: 'minute' | 'hour', q: { fromMs: number; toMs: number; layer: number; limit: number }): Promise<{ bucketMs: number[]; bytes: Buffer[] }> {
    const rows: { bucket: Date; logical_load: Buffer }[] = await this.ds.query(
      `SELECT bucket, logical_load FROM heat_rollups
       WHERE deployment_id = $1 AND phase = $2 AND resolution = $3 AND layer = $4 AND bucket >= $5 AND bucket < $6
       ORDER BY bucket LIMIT $7`,
      [deploymentId, phase, resolution, q.layer, new Date(q.fromMs), new Date(q.toMs), q.limit],
    );
    return { bucketMs: rows.map((r) => r.bucket.getTime()), bytes: rows.map((r) => r.logical_load) };
  }

  /**
   * Adds each layer's logical load over the rollup buckets of a range into `totals` (one vector
   * per layer, created on first sight), decoding each stored vector in place: a sum over a day of
   * minutes reads tens of thousands of rows and keeps none of them.
   */
  async addRollupTotals(
    deploymentId: string,
    phase: string,
    resolution: 'minute' | 'hour',
    q: { fromMs: number; toMs: number; layer?: number },
    totals: Map<number, Float64Array>,
    numExperts: number,
  ): Promise<void> {
    const rows: { layer: number; logical_load: Buffer }[] = await this.ds.query(
      `SELECT layer, logical_load FROM heat_rollups
       WHERE deployment_id = $1 AND phase = $2 AND resolution = $3 AND bucket >= $4 AND bucket < $5 ${q.layer !== undefined ? 'AND layer = $6' : ''}`,
      [deploymentId, phase, resolution, new Date(q.fromMs), new Date(q.toMs), ...(q.layer !== undefined ? [q.layer] : [])],
    );
    for (const r of rows) {
      let row = totals.get(r.layer);
      if (!row) totals.set(r.layer, (row = new Float64Array(numExperts)));
      addBytes32(row, r.logical_load);
    }
  }

  /** Rollup rows of a range: per layer (or one layer), per bucket. */
  async rollups(
    deploymentId: string,
    phase: string,
    resolution: 'minute' | 'hour',
    q: { fromMs: number; toMs: number; layer?: number; withLoads?: boolean },
  ): Promise<{ layer: number; bucketMs: number; logical: Float64Array; episodes: number; imbalanceSum: number; imbalanceMax: number }[]> {
    // without loads (an imbalance trend), the vectors stay in the database
    const rows: { layer: number; bucket: Date; logical_load: Buffer; episodes: number; imbalance_sum: number; imbalance_max: number }[] = await this.ds.query(
      `SELECT layer, bucket, ${q.withLoads === false ? "''::bytea AS logical_load" : 'logical_load'}, episodes, imbalance_sum, imbalance_max FROM heat_rollups
       WHERE deployment_id = $1 AND phase = $2 AND resolution = $3 AND bucket >= $4 AND bucket < $5 ${q.layer !== undefined ? 'AND layer = $6' : ''}
       ORDER BY bucket, layer`,
      [deploymentId, phase, resolution, new Date(q.fromMs), new Date(q.toMs), ...(q.layer !== undefined ? [q.layer] : [])],
    );
    return rows.map((r) => ({
      layer: r.layer,
      bucketMs: r.bucket.getTime(),
      logical: fromBytes32(r.logical_load),
      episodes: r.episodes,
      imbalanceSum: r.imbalance_sum,
      imbalanceMax: r.imbalance_max,
    }));
  }
}
