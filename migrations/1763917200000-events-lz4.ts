import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Event payloads compress with lz4 instead of pglz. A rollout's `rollout.created` event carries
 * its whole plan (forward and inverse parts of every layer: megabytes of JSON for a 58-layer
 * model), and a commit ack's holdings pass the TOAST threshold too: Postgres' default pglz spent
 * more CPU compressing them than the rollout service spends on the whole rollout, on the same
 * cores. lz4 compresses the same payloads several times faster (and here smaller). Rows written
 * before keep pglz and stay readable; only new values use lz4. A server built without lz4 keeps
 * pglz: the column's compression is a cost, never what the log holds.
 */
export class EventsLz41763917200000 implements MigrationInterface {
  name = 'EventsLz41763917200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DO $$
      BEGIN
        ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'lz4 not supported by this server: events.payload keeps pglz';
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events ALTER COLUMN payload SET COMPRESSION DEFAULT`);
  }
}
