import { DataSource, EntityManager } from 'typeorm';

/** Where a heat partition's claim is kept: one consumer group's view of one partition of a topic. */
export interface HeatPartition {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

/** The claim a writer holds was taken over by another member of its group: it may write nothing more. */
export class HeatPartitionLost extends Error {
  constructor(readonly at: HeatPartition, readonly held: number, readonly current: number | null) {
    super(`heat partition ${at.topic}[${at.partition}] of group ${at.group} was claimed by another collector (generation ${current ?? 'none'}, this one held ${held})`);
    this.name = 'HeatPartitionLost';
  }
}

/**
 * Single writer per heat partition across the collectors of one consumer group. Kafka's group
 * gives each partition to one member, but a member that has not noticed a rebalance yet (a long
 * batch, a paused process) still holds open episodes and would store them beside the new owner's
 * replay of the same reports. A new owner claims the partition (the generation goes up) before it
 * reads where its episodes resume; every store transaction first checks, under a share lock, that
 * its generation is still current. The claim waits for a transaction holding the old generation,
 * so the new owner resumes from everything the old one stored, and the old one stores nothing
 * after that.
 */
export class HeatPartitionClaims {
  constructor(private readonly ds: DataSource) {}

  /** Takes the partition over for `owner`; returns the generation its writes must hold. */
  async claim(at: HeatPartition, owner: string): Promise<number> {
    const [row]: { generation: string }[] = await this.ds.query(
      `INSERT INTO heat_partition_claims (consumer_group, topic, partition, generation, owner) VALUES ($1, $2, $3, 1, $4)
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET generation = heat_partition_claims.generation + 1, owner = EXCLUDED.owner, claimed_at = now()
       RETURNING generation`,
      [at.group, at.topic, at.partition, owner],
    );
    return Number(row.generation);
  }

  /**
   * Inside a store transaction, before it writes: throws HeatPartitionLost when another member
   * claimed the partition since `generation`. The share lock keeps a claim waiting until this
   * transaction ends.
   */
  async assertHeld(em: EntityManager, at: HeatPartition, generation: number): Promise<void> {
    const rows: { generation: string }[] = await em.query(
      `SELECT generation FROM heat_partition_claims WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR SHARE`,
      [at.group, at.topic, at.partition],
    );
    const current = rows.length ? Number(rows[0].generation) : null;
    if (current !== generation) throw new HeatPartitionLost(at, generation, current);
  }
}
