import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Read model of a deployment (rebuilt from the `deployment.*` events). */
@Entity({ name: 'deployments' })
export class DeploymentEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'num_layers', type: 'int' })
  numLayers!: number;

  @Column({ name: 'num_experts', type: 'int' })
  numExperts!: number;

  @Column({ name: 'num_ranks', type: 'int' })
  numRanks!: number;

  @Column({ name: 'slots_per_rank', type: 'int' })
  slotsPerRank!: number;

  @Column({ name: 'num_nodes', type: 'int' })
  numNodes!: number;

  @Column({ name: 'num_groups', type: 'int', nullable: true })
  numGroups!: number | null;

  @Column({ name: 'episode_steps', type: 'int', default: 16 })
  episodeSteps!: number;

  @Column({ name: 'interval_steps', type: 'int', default: 1024 })
  intervalSteps!: number;

  @Column({ name: 'lateness_steps', type: 'int', default: 64 })
  latenessSteps!: number;

  @Column({ name: 'latest_map_version', type: 'int' })
  latestMapVersion!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
