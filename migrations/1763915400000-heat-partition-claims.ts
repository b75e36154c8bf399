import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which collector of a consumer group writes a heat partition's episodes: a generation bumped by
 * each new owner. A collector still holding a partition the group gave to another (a rebalance it
 * has not noticed yet) finds its generation outdated and writes nothing more.
 */
export class HeatPartitionClaims1763915400000 implements MigrationInterface {
  name = 'HeatPartitionClaims1763915400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE heat_partition_claims (
      consumer_group text NOT NULL,
      topic text NOT NULL,
      partition int NOT NULL,
      generation bigint NOT NULL,
      owner text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer_group, topic, partition)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE heat_partition_claims`);
  }
}
