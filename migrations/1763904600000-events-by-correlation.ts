import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit API finds a chain of custody by its correlation id (interval → run → map version →
 * rollout → layer commits → gate verdict → outcome), newest first: an index on
 * (correlation_id, id) makes that a range scan however long the log grows.
 */
export class EventsByCorrelation1763904600000 implements MigrationInterface {
  name = 'EventsByCorrelation1763904600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS events_by_correlation`);
  }
}
