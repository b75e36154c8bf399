import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One worker's heat event as received: the raw, idempotent record per (deployment, rank, step)
 * (invariant 3). Slot counts are flattened layer-major (L·S integers) to keep a row compact.
 */
@Entity({ name: 'heat_reports' })
export class HeatReportEntity {
  @PrimaryColumn({ name: 'deployment_id', type: 'text' })
  deploymentId!: string;

  @PrimaryColumn({ type: 'int' })
  rank!: number;

  /** bigint comes back from pg as a string: steps exceed 2^31 in long-running deployments. */
  @PrimaryColumn({ type: 'bigint' })
  step!: string;

  @Column({ type: 'int' })
  steps!: number;

  @Column({ type: 'text' })
  phase!: string;

  @Column({ name: 'map_version', type: 'int' })
  mapVersion!: number;

  @Column({ name: 'layer_versions', type: 'int', array: true, nullable: true })
  layerVersions!: number[] | null;

  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;

  @Column({ name: 'load', type: 'int', array: true })
  load!: number[];
}
