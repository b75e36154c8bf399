import { Injectable } from '@nestjs/common';
import { AuditEventsResponse } from '@eplb/contracts';
import { AuditLogRepository, DeploymentRepository } from '@eplb/persistence';
import { notFoundProblem, validationProblem } from '@eplb/platform';
import { toAuditEventResponse } from './audit-event.response';

/** What the audit API is asked: filters (each narrows), the page, and whether payloads come along. */
export interface ListEventsQuery {
  readonly types?: readonly string[];
  readonly excludeTypes?: readonly string[];
  readonly actors?: readonly string[];
  readonly correlationId?: string;
  readonly from?: string;
  readonly to?: string;
  readonly order: 'desc' | 'asc';
  readonly cursor?: string;
  readonly limit: number;
  readonly payload: boolean;
}

/**
 * One page of a deployment's audit log: "why did layer 17 change at 10:42, who allowed it, and
 * what did it do" is `correlation=` of the layer's `rollout.layer-committed` event.
 */
@Injectable()
export class ListEventsUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly audit: AuditLogRepository,
  ) {}

  async execute(dep: string, q: ListEventsQuery): Promise<AuditEventsResponse> {
    if (!(await this.deployments.find(dep))) throw notFoundProblem(`deployment ${dep} does not exist`);
    const fromMs = q.from === undefined ? undefined : Date.parse(q.from);
    const toMs = q.to === undefined ? undefined : Date.parse(q.to);
    if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) throw validationProblem([{ field: 'from', message: 'must be before to' }]);
    const events = await this.audit.deploymentEvents(dep, {
      ...(q.types ? { types: q.types } : {}),
      ...(q.excludeTypes ? { excludeTypes: q.excludeTypes } : {}),
      ...(q.actors ? { actors: q.actors } : {}),
      ...(q.correlationId !== undefined ? { correlationId: q.correlationId } : {}),
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      order: q.order,
      limit: q.limit,
    });
    const last = events.length ? events[events.length - 1].id : null;
    const nextCursor = q.order === 'asc' ? (last ?? q.cursor ?? '0') : events.length === q.limit ? last : null;
    return { deployment: dep, order: q.order, items: events.map((e) => toAuditEventResponse(e, q.payload)), nextCursor };
  }
}
