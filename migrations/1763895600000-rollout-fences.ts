import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fencing for the rollout lock: every time an instance takes a deployment's Redis lock it gets a
 * higher generation, and every write of a rollout step raises the deployment's row to its
 * generation inside the same transaction — refused when a newer holder has written. An instance
 * that paused past the lock's TTL can then never append behind its successor's back.
 */
export class RolloutFences1763895600000 implements MigrationInterface {
  name = 'RolloutFences1763895600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rollout_fences (
        deployment_id text PRIMARY KEY,
        generation bigint NOT NULL CHECK (generation > 0),
        instance text NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rollout_fences`);
  }
}
