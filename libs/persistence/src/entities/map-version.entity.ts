import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * An expert map of a deployment, immutable: rows are only ever inserted, so a version number names
 * the same map wherever it was recorded (heat attribution, rollouts, proposals).
 */
@Entity({ name: 'map_versions' })
export class MapVersionEntity {
  @PrimaryColumn({ name: 'deployment_id', type: 'text' })
  deploymentId!: string;

  @PrimaryColumn({ type: 'int' })
  version!: number;

  @Column({ name: 'parent_version', type: 'int', nullable: true })
  parentVersion!: number | null;

  /** physical_to_logical[layer][slot] */
  @Column({ name: 'physical_to_logical', type: 'jsonb' })
  physicalToLogical!: number[][];

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ type: 'text' })
  reason!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
