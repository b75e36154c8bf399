import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fencing generations drawn from Postgres instead of a Redis counter: a counter that Redis loses
 * (a flush, a restart, an INCR not yet fsynced by AOF) restarts below the fences already stored,
 * and the next lock holder can never write. A sequence lives beside the fences it must stay
 * above, survives what they survive, and never hands out a value twice. It starts above every
 * fence already written.
 */
export class RolloutLockGenerations1763906400000 implements MigrationInterface {
  name = 'RolloutLockGenerations1763906400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE rollout_lock_generations AS bigint MINVALUE 1`);
    await q.query(`SELECT setval('rollout_lock_generations', coalesce((SELECT max(generation) FROM rollout_fences), 0) + 1, false)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SEQUENCE rollout_lock_generations`);
  }
}
