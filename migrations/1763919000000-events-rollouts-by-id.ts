import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rollout service follows every deployment's `rollouts:<deployment>` stream by reading on
 * from a cursor every few hundred milliseconds (`readStreamsWithPrefix(…, 'rollouts:', after)`):
 * a few rows a poll, out of a log that only grows — mostly other streams (each rollout's own
 * `rollout:<id>` stream, deployments, agents). With the log's statistics stale (a burst of
 * appends before the next ANALYZE, or none at all), Postgres planned that read as a scan of the
 * whole table, every poll: on a log of 0.9M events it cost ~90 ms of a backend's CPU five times a
 * second, more than the rollout's own writes. An index of those streams' rows alone, by id, makes
 * the poll a walk over the rows after the cursor whatever the statistics say. Its predicate is
 * the poll's own (`stream LIKE 'rollouts:%'`), which is how Postgres knows it may use it.
 *
 * Built inside the migration's transaction (CREATE INDEX, not CONCURRENTLY): on a log of millions
 * of events that blocks appends for the seconds the build takes, once, when the service starts.
 */
export class EventsRolloutsById1763919000000 implements MigrationInterface {
  name = 'EventsRolloutsById1763919000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS events_rollouts_by_id ON events (id) WHERE stream LIKE 'rollouts:%'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS events_rollouts_by_id`);
  }
}
