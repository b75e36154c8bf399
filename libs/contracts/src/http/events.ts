/**
 * The audit API's responses (`GET /v1/deployments/{id}/events`), as the API sends them: declared
 * once here, returned by its use case and read by its clients.
 */

/** One event of the append-only log: who did what, why, under which chain of custody, when. */
export interface AuditEventResponse {
  /** Event id (increasing): the cursor to page or follow by. */
  id: string;
  /** `deployment:<id>`, `rollouts:<id>`, `rollout:<rolloutId>`, `agents:<id>`. */
  stream: string;
  type: string;
  actor: string;
  reason: string;
  correlationId: string;
  occurredAt: string;
  /** Absent with `payload=false`. */
  payload?: Record<string, unknown>;
}

/** GET .../events: one page, in the order asked (newest first by default). */
export interface AuditEventsResponse {
  deployment: string;
  order: 'desc' | 'asc';
  items: AuditEventResponse[];
  /**
   * Pass as `cursor` (same `order`) for the next page. Newest first: null when this page was the
   * last. Oldest first (following): the last id seen, or the given cursor when nothing was new.
   */
  nextCursor: string | null;
}
