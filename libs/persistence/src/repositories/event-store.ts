import type { EntityManager } from 'typeorm';
import { EventEntity } from '../entities/event.entity';

/** Who did what and why: every state change carries this, so the event log is its own audit trail. */
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

/**
 * JSON that Postgres' jsonb accepts: it refuses the NUL character (`\u0000`) and unpaired
 * surrogates, which an agent's error text or any outside input may carry; they become U+FFFD, so
 * one odd string can never stop the event log.
 */
function jsonbText(payload: unknown): string {
  const text = JSON.stringify(payload);
  if (!/\\u0000|\\ud[89a-f]/i.test(text)) return text;
  return JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'string' ? storableText(v) : v));
}

const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string Postgres text and jsonb accept (NUL and unpaired surrogates → U+FFFD). */
const storableText = (s: string): string => s.replace(UNSTORABLE, '\uFFFD');

/** Appends inside the caller's transaction, so the event and its read-model change commit together. */
export async function appendEvents(em: EntityManager, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  // One statement: the rollout service appends on every step of a layer, and the ORM's insert
  // builder cost more than the database did. Ids follow the array order.
  await em.query(`INSERT INTO events (stream, type, payload, actor, reason, correlation_id) ${EVENT_ROWS} ORDER BY n`, [eventsParam(events)]);
}

/** The SELECT that turns parameter $1 (eventsParam) into event rows, numbered n in array order. */
export const EVENT_ROWS = `SELECT e->>'stream', e->>'type', e->'payload', e->>'actor', e->>'reason', e->>'correlationId'
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n)`;

/**
 * The events as ONE jsonb parameter (an array of objects), storable. Not six array parameters:
 * the driver escapes every element of a text[] literal character by character, and for the
 * rollout service's payloads (quotes everywhere) that was 30% of its CPU (a sampled profile of
 * bench:rollout); one JSON text goes as it is.
 */
export function eventsParam(events: readonly NewEvent[]): string {
  return jsonbText(events.map((e) => ({ stream: e.stream, type: e.type, payload: e.payload, actor: e.actor, reason: e.reason, correlationId: e.correlationId })));
}

/** Every event of one stream, in order (read in pages). */
export async function readWholeStream(em: EntityManager, stream: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (let after = '0'; ; ) {
    const page = await readStream(em, stream, after, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1].id;
  }
}

/**
 * Events of every stream whose name starts with `prefix`, after `afterId` in id order, with their
 * times (the outcome recorder measures from a followed view; 8 bytes a row to the poll). Ordered by
 * the column, not by the `id` it is selected as: that is text, and ids in text order ("1000000"
 * before "999998") would end a page past rows it never returned — and the next page, read after
 * its last id, would skip them for good. In the column's order the primary key is walked from
 * `afterId` and the scan stops at `limit` rows, however long the log has grown.
 */
export async function readStreamsWithPrefix(q: Pick<EntityManager, 'query'>, prefix: string, afterId: string, limit: number): Promise<StoredEvent[]> {
  const rows: { id: string; stream: string; type: string; payload: Record<string, unknown>; actor: string; reason: string; correlation_id: string; occurred_at: Date }[] = await q.query(
    `SELECT e.id::text AS id, e.stream, e.type, e.payload, e.actor, e.reason, e.correlation_id, e.occurred_at FROM events e WHERE e.id > $1 AND e.stream LIKE $2 ORDER BY e.id LIMIT ${Math.floor(limit)}`,
    [afterId, `${prefix}%`],
  );
  return rows.map(({ correlation_id, occurred_at, ...r }) => ({ ...r, correlationId: correlation_id, occurredAt: occurred_at }));
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
