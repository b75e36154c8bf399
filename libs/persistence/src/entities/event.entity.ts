import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The append-only event store: every state change, with who, why and when (docs/design.md,
 * "Every change is an event"). A trigger in the migration refuses UPDATE and DELETE, so not even a
 * bug in our code can rewrite history.
 */
@Entity({ name: 'events' })
export class EventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** e.g. `deployment:dsv3-a`, `token:<uuid>` */
  @Column({ type: 'text' })
  stream!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ type: 'text' })
  actor!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ name: 'correlation_id', type: 'text' })
  correlationId!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz', default: () => 'now()' })
  occurredAt!: Date;
}
