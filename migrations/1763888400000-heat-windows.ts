import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Windowed heat history: episodes (time-partitioned by day), sealed intervals, and minute/hour
 * rollups per layer for long ranges. Deployments gain their window lengths. The raw per-event
 * table of the first slice goes: idempotency now lives in each episode's receipt bitmap.
 *
 * Load vectors are bytea holding little-endian float64 (exact integers up to 2^53; float32 in
 * rollups): a DeepSeek-V3 episode holds 33k numbers, which as float8[] cost milliseconds of text
 * formatting and parsing on each side; as bytea they cross the wire as one hex string and land in
 * a typed array.
 */
export class HeatWindows1763888400000 implements MigrationInterface {
  name = 'HeatWindows1763888400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE deployments
        ADD COLUMN episode_steps int NOT NULL DEFAULT 16 CHECK (episode_steps > 0),
        ADD COLUMN interval_steps int NOT NULL DEFAULT 1024 CHECK (interval_steps > 0),
        ADD COLUMN lateness_steps int NOT NULL DEFAULT 64 CHECK (lateness_steps >= 0),
        ADD CONSTRAINT interval_whole_episodes CHECK (interval_steps % episode_steps = 0)`);
    await q.query(`DROP TABLE heat_reports`);
    await q.query(`
      CREATE TABLE heat_episodes (
        deployment_id text NOT NULL,
        phase text NOT NULL CHECK (phase IN ('prefill', 'decode', 'mixed')),
        episode bigint NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz NOT NULL,
        start_step bigint NOT NULL,
        end_step bigint NOT NULL,
        slot_load bytea NOT NULL,
        logical_load bytea NOT NULL,
        imbalance float8[] NOT NULL,
        layer_versions int[] NOT NULL,
        received bytea NOT NULL,
        events int NOT NULL,
        late_events int NOT NULL DEFAULT 0,
        missing_ranks int[] NOT NULL,
        missing_rank_steps int NOT NULL,
        closed_by text NOT NULL CHECK (closed_by IN ('complete', 'watermark')),
        stored_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (deployment_id, phase, episode, started_at)
      ) PARTITION BY RANGE (started_at)`);
    await q.query(`CREATE INDEX heat_episodes_by_time ON heat_episodes (deployment_id, phase, started_at)`);
    await q.query(`CREATE TABLE heat_episodes_default PARTITION OF heat_episodes DEFAULT`);
    await q.query(`
      CREATE TABLE heat_intervals (
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        phase text NOT NULL,
        interval bigint NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz NOT NULL,
        start_step bigint NOT NULL,
        end_step bigint NOT NULL,
        episodes int NOT NULL,
        slot_load bytea NOT NULL,
        logical_load bytea NOT NULL,
        imbalance float8[] NOT NULL,
        events int NOT NULL,
        missing_rank_steps int NOT NULL,
        sealed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (deployment_id, phase, interval)
      )`);
    await q.query(`CREATE INDEX heat_intervals_by_time ON heat_intervals (deployment_id, phase, started_at)`);
    // Per layer and time bucket: logical loads summed, and the per-episode imbalance of the
    // bucket's episodes (sum and max, so means roll up exactly).
    await q.query(`
      CREATE TABLE heat_rollups (
        deployment_id text NOT NULL,
        phase text NOT NULL,
        resolution text NOT NULL CHECK (resolution IN ('minute', 'hour')),
        layer int NOT NULL,
        bucket timestamptz NOT NULL,
        logical_load bytea NOT NULL,
        episodes int NOT NULL,
        imbalance_sum float8 NOT NULL,
        imbalance_max float8 NOT NULL,
        PRIMARY KEY (deployment_id, phase, resolution, layer, bucket)
      ) PARTITION BY RANGE (bucket)`);
    await q.query(`CREATE TABLE heat_rollups_default PARTITION OF heat_rollups DEFAULT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE heat_rollups`);
    await q.query(`DROP TABLE heat_intervals`);
    await q.query(`DROP TABLE heat_episodes`);
    await q.query(`
      CREATE TABLE heat_reports (
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        rank int NOT NULL, step bigint NOT NULL, steps int NOT NULL, phase text NOT NULL,
        map_version int NOT NULL, layer_versions int[] NULL, reported_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(), load int[] NOT NULL,
        PRIMARY KEY (deployment_id, rank, step))`);
    await q.query(`ALTER TABLE deployments DROP CONSTRAINT interval_whole_episodes, DROP COLUMN episode_steps, DROP COLUMN interval_steps, DROP COLUMN lateness_steps`);
  }
}
