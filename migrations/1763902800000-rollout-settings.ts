import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How a deployment's map versions are rolled out when nobody spells it out (an automatic rollout,
 * an approval that deploys): the batches and their analysis gates, the bytes/s cap per agent, what
 * a failure does; and the automatic loop's limit on rollouts per hour. `mode_since` is when the
 * deployment entered its mode: the loop's circuit breaker ignores rollbacks from before an
 * operator put it back in `auto`.
 */
export class RolloutSettings1763902800000 implements MigrationInterface {
  name = 'RolloutSettings1763902800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE deployments
        ADD COLUMN rollout_steps jsonb NOT NULL DEFAULT '[{"layers": 1, "analysis": true}, "rest"]'::jsonb CHECK (jsonb_typeof(rollout_steps) = 'array'),
        ADD COLUMN rollout_on_failure text NOT NULL DEFAULT 'rollback' CHECK (rollout_on_failure IN ('rollback', 'hold')),
        ADD COLUMN rollout_bytes_per_second bigint NULL CHECK (rollout_bytes_per_second IS NULL OR rollout_bytes_per_second > 0),
        ADD COLUMN max_auto_rollouts_per_hour int NOT NULL DEFAULT 6 CHECK (max_auto_rollouts_per_hour >= 0),
        ADD COLUMN mode_since timestamptz NOT NULL DEFAULT now()`);
    // deployments registered before: in their mode since they were registered (or last changed)
    await q.query(`UPDATE deployments SET mode_since = updated_at`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE deployments DROP COLUMN rollout_steps, DROP COLUMN rollout_on_failure, DROP COLUMN rollout_bytes_per_second,
        DROP COLUMN max_auto_rollouts_per_hour, DROP COLUMN mode_since`);
  }
}
