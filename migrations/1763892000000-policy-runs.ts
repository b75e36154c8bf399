import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Policy settings per deployment (what the scheduler runs, how often, and what may deploy) and
 * the record of every policy run: a proposal, or the decision that nothing is worth deploying.
 * `run_key` makes a run idempotent: one per (deployment, phase, interval, settings version).
 */
export class PolicyRuns1763892000000 implements MigrationInterface {
  name = 'PolicyRuns1763892000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE deployments
        ADD COLUMN policy text NOT NULL DEFAULT 'default',
        ADD COLUMN cadence_seconds int NOT NULL DEFAULT 300 CHECK (cadence_seconds >= 0),
        ADD COLUMN imbalance_threshold float8 NOT NULL DEFAULT 0.05 CHECK (imbalance_threshold >= 0),
        ADD COLUMN min_gain float8 NOT NULL DEFAULT 0.01 CHECK (min_gain >= 0),
        ADD COLUMN max_transfers int NULL CHECK (max_transfers IS NULL OR max_transfers >= 0),
        ADD COLUMN balance_phase text NOT NULL DEFAULT 'decode' CHECK (balance_phase IN ('prefill', 'decode', 'mixed')),
        ADD COLUMN mode text NOT NULL DEFAULT 'observe' CHECK (mode IN ('observe', 'approve', 'auto')),
        ADD COLUMN expert_bytes bigint NOT NULL DEFAULT 0 CHECK (expert_bytes >= 0),
        ADD COLUMN settings_version int NOT NULL DEFAULT 1`);
    await q.query(`
      CREATE TABLE policy_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
        run_key text NOT NULL UNIQUE,
        phase text NOT NULL,
        interval bigint NOT NULL,
        policy text NOT NULL,
        status text NOT NULL CHECK (status IN ('proposed', 'nothing', 'failed')),
        reason text NOT NULL,
        base_map_version int NOT NULL,
        figures jsonb NOT NULL,
        candidate jsonb NULL,
        run_ms float8 NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        decision text NULL CHECK (decision IN ('approved', 'rejected')),
        decided_by text NULL,
        decided_at timestamptz NULL,
        decision_reason text NULL,
        map_version int NULL
      )`);
    await q.query(`CREATE INDEX policy_runs_by_deployment ON policy_runs (deployment_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE policy_runs`);
    await q.query(`
      ALTER TABLE deployments DROP COLUMN policy, DROP COLUMN cadence_seconds, DROP COLUMN imbalance_threshold, DROP COLUMN min_gain,
        DROP COLUMN max_transfers, DROP COLUMN balance_phase, DROP COLUMN mode, DROP COLUMN expert_bytes, DROP COLUMN settings_version`);
  }
}
