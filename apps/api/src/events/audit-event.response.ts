import type { AuditEventResponse } from '@eplb/contracts';
import type { StoredEvent } from '@eplb/persistence';

/** A stored event as the audit API shows it (the payload only when asked for). */
export const toAuditEventResponse = (e: StoredEvent, withPayload: boolean): AuditEventResponse => ({
  id: e.id,
  stream: e.stream,
  type: e.type,
  actor: e.actor,
  reason: e.reason,
  correlationId: e.correlationId,
  occurredAt: e.occurredAt.toISOString(),
  ...(withPayload ? { payload: e.payload } : {}),
});
