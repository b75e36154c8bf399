import { DataSource } from 'typeorm';
import { deploymentRolloutsStream, heatStream, ROLLOUT_EVENTS, rolloutStream } from '@eplb/contracts';
import { StoredEvent } from './event-store';

/** What the audit log is asked for: every field narrows; `*` at the end of a type or actor matches a prefix. */
export interface AuditQuery {
  readonly types?: readonly string[];
  /** Types left out (e.g. `rollout.ack`, the machine's per-agent answers). */
  readonly excludeTypes?: readonly string[];
  readonly actors?: readonly string[];
  readonly correlationId?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Newest first from below `cursor` (desc), or oldest first from above it (asc: following). */
  readonly order: 'desc' | 'asc';
  /** An event id: exclusive bound in the direction of `order`. */
  readonly cursor?: string;
  readonly limit: number;
}

/** The streams a deployment's story is told in (its rollouts' own streams are found through their requests). */
const DEPLOYMENT_STREAMS = (deployment: string): string[] => [`deployment:${deployment}`, deploymentRolloutsStream(deployment), `agents:${deployment}`, heatStream(deployment)];

/**
 * The audit log of one deployment: its registry, policy, map-version and rollout events and each
 * rollout's own machine events, filtered and paged by event id. The streams are resolved in the
 * same statement (one indexed read of the deployment's rollout requests); a correlation id uses
 * the `events_by_correlation` index.
 */
export class AuditLogRepository {
  constructor(private readonly ds: DataSource) {}

  async deploymentEvents(deployment: string, q: AuditQuery): Promise<StoredEvent[]> {
    const params: unknown[] = [DEPLOYMENT_STREAMS(deployment), deploymentRolloutsStream(deployment), ROLLOUT_EVENTS.requested, rolloutStream('')];
    const where: string[] = ['e.stream IN (SELECT stream FROM streams)'];
    const param = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    const matching = (column: string, patterns: readonly string[]): string => {
      const exact = patterns.filter((p) => !p.endsWith('*'));
      const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => `${likeEscape(p.slice(0, -1))}%`);
      const parts = [...(exact.length ? [`${column} = ANY(${param(exact)}::text[])`] : []), ...(prefixes.length ? [`${column} LIKE ANY(${param(prefixes)}::text[])`] : [])];
      return `(${parts.join(' OR ')})`;
    };
    if (q.types?.length) where.push(matching('e.type', q.types));
    if (q.excludeTypes?.length) where.push(`NOT ${matching('e.type', q.excludeTypes)}`);
    if (q.actors?.length) where.push(matching('e.actor', q.actors));
    if (q.correlationId !== undefined) where.push(`e.correlation_id = ${param(q.correlationId)}`);
    if (q.fromMs !== undefined) where.push(`e.occurred_at >= ${param(new Date(q.fromMs))}`);
    if (q.toMs !== undefined) where.push(`e.occurred_at < ${param(new Date(q.toMs))}`);
    if (q.cursor !== undefined) where.push(`e.id ${q.order === 'desc' ? '<' : '>'} ${param(q.cursor)}::bigint`);
    const rows: { id: string; stream: string; type: string; payload: Record<string, unknown>; actor: string; reason: string; correlation_id: string; occurred_at: Date }[] = await this.ds.query(
      `WITH streams AS (
         SELECT unnest($1::text[]) AS stream
         UNION SELECT $4 || (payload->>'rolloutId') FROM events WHERE stream = $2 AND type = $3
       )
       SELECT e.id::text AS id, e.stream, e.type, e.payload, e.actor, e.reason, e.correlation_id, e.occurred_at
       FROM events e WHERE ${where.join(' AND ')}
       ORDER BY e.id ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${Math.floor(q.limit)}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, stream: r.stream, type: r.type, payload: r.payload, actor: r.actor, reason: r.reason, correlationId: r.correlation_id, occurredAt: r.occurred_at }));
  }
}

const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);
