import { MigrationInterface, QueryRunner } from 'typeorm';

/** Registry, immutable map versions, raw heat reports, API tokens and the append-only event store. */
export class InitialSchema1763884800000 implements MigrationInterface {
  name = 'InitialSchema1763884800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE deployments (
        id text PRIMARY KEY,
        num_layers int NOT NULL CHECK (num_layers > 0),
        num_experts int NOT NULL CHECK (num_experts > 0),
        num_ranks int NOT NULL CHECK (num_ranks > 0),
        slots_per_rank int NOT NULL CHECK (slots_per_rank > 0),
        num_nodes int NOT NULL CHECK (num_nodes > 0 AND num_ranks % num_nodes = 0),
        num_groups int NULL CHECK (num_groups IS NULL OR num_groups > 0),
        latest_map_version int NOT NULL CHECK (latest_map_version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (num_ranks * slots_per_rank >= num_experts)
      )`);
    await q.query(`
      CREATE TABLE map_versions (
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        version int NOT NULL CHECK (version >= 1),
        parent_version int NULL,
        physical_to_logical jsonb NOT NULL,
        created_by text NOT NULL,
        reason text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (deployment_id, version),
        CHECK (parent_version IS NULL OR parent_version < version)
      )`);
    await q.query(`
      CREATE TABLE heat_reports (
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        rank int NOT NULL CHECK (rank >= 0),
        step bigint NOT NULL CHECK (step >= 0),
        steps int NOT NULL CHECK (steps > 0),
        phase text NOT NULL CHECK (phase IN ('prefill', 'decode', 'mixed')),
        map_version int NOT NULL,
        layer_versions int[] NULL,
        reported_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        load int[] NOT NULL,
        PRIMARY KEY (deployment_id, rank, step)
      )`);
    await q.query(`CREATE INDEX heat_reports_by_time ON heat_reports (deployment_id, reported_at)`);
    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('operator', 'analyst', 'agent')),
        token_hash text NOT NULL UNIQUE,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz NULL
      )`);
    await q.query(`
      CREATE TABLE events (
        id bigserial PRIMARY KEY,
        stream text NOT NULL,
        type text NOT NULL,
        payload jsonb NOT NULL,
        actor text NOT NULL,
        reason text NOT NULL,
        correlation_id text NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX events_by_stream ON events (stream, id)`);
    await q.query(`
      CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events is append-only (% refused)', TG_OP;
      END $$`);
    await q.query(`
      CREATE TRIGGER events_no_rewrite BEFORE UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION events_append_only()`);
    await q.query(`
      CREATE TRIGGER map_versions_immutable BEFORE UPDATE ON map_versions
      FOR EACH ROW EXECUTE FUNCTION events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE events`);
    await q.query(`DROP FUNCTION events_append_only() CASCADE`);
    await q.query(`DROP TABLE api_tokens`);
    await q.query(`DROP TABLE heat_reports`);
    await q.query(`DROP TABLE map_versions`);
    await q.query(`DROP TABLE deployments`);
  }
}
