import type { RolloutStepInput } from '@eplb/contracts';
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

  @Column({ type: 'text', default: 'default' })
  policy!: string;

  @Column({ name: 'cadence_seconds', type: 'int', default: 300 })
  cadenceSeconds!: number;

  @Column({ name: 'imbalance_threshold', type: 'float8', default: 0.05 })
  imbalanceThreshold!: number;

  @Column({ name: 'min_gain', type: 'float8', default: 0.01 })
  minGain!: number;

  @Column({ name: 'max_transfers', type: 'int', nullable: true })
  maxTransfers!: number | null;

  @Column({ name: 'balance_phase', type: 'text', default: 'decode' })
  balancePhase!: string;

  @Column({ type: 'text', default: 'observe' })
  mode!: string;

  /** bigint arrives as a string from pg */
  @Column({ name: 'expert_bytes', type: 'bigint', default: 0 })
  expertBytes!: string;

  /** When the deployment entered its mode. */
  @Column({ name: 'mode_since', type: 'timestamptz', default: () => 'now()' })
  modeSince!: Date;

  /** Batches of a rollout nobody spelled out (automatic, approve-and-deploy): the API's rollout steps. */
  @Column({ name: 'rollout_steps', type: 'jsonb', default: () => `'[{"layers": 1, "analysis": true}, "rest"]'::jsonb` })
  rolloutSteps!: RolloutStepInput[];

  @Column({ name: 'rollout_on_failure', type: 'text', default: 'rollback' })
  rolloutOnFailure!: string;

  /** bigint arrives as a string from pg; null: no cap beyond the agents' own */
  @Column({ name: 'rollout_bytes_per_second', type: 'bigint', nullable: true })
  rolloutBytesPerSecond!: string | null;

  @Column({ name: 'max_auto_rollouts_per_hour', type: 'int', default: 6 })
  maxAutoRolloutsPerHour!: number;

  @Column({ name: 'settings_version', type: 'int', default: 1 })
  settingsVersion!: number;

  @Column({ name: 'latest_map_version', type: 'int' })
  latestMapVersion!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
