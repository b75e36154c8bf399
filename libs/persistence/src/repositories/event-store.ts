import type { EntityManager } from 'typeorm';
import { EventEntity } from '../entities/event.entity';

/** Who did what and why: every state change carries this (invariant 4). */
export interface EventMeta {
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

export interface NewEvent extends EventMeta {
  readonly stream: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

export interface StoredEvent extends NewEvent {
  readonly id: string;
  readonly occurredAt: Date;
}

/** Appends inside the caller's transaction, so the event and its read-model change commit together. */
export async function appendEvents(em: EntityManager, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  // jsonb payloads are opaque to TypeORM's deep-partial typing.
  await em.getRepository(EventEntity).insert(events.map((e) => ({ ...e, payload: e.payload as never })));
}

export async function readStream(em: EntityManager, stream: string, afterId = '0', limit = 1000): Promise<StoredEvent[]> {
  const rows = await em
    .getRepository(EventEntity)
    .createQueryBuilder('e')
    .where('e.stream = :stream AND e.id > :afterId', { stream, afterId })
    .orderBy('e.id', 'ASC')
    .limit(limit)
    .getMany();
  return rows.map((r) => ({
    id: r.id,
    stream: r.stream,
    type: r.type,
    payload: r.payload,
    actor: r.actor,
    reason: r.reason,
    correlationId: r.correlationId,
    occurredAt: r.occurredAt,
  }));
}
