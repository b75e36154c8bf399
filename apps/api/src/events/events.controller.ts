import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AuditEventsResponse, deploymentIdSchema } from '@eplb/contracts';
import { ZodPipe, ZodQuery } from '@eplb/platform';
import { Roles } from '../auth/roles.decorator';
import { ListEventsUseCase } from './list-events.use-case';

/** A comma-separated list of names, each exact or ending in `*` (a prefix). */
const names = z
  .string()
  .min(1)
  .max(2000)
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
  .pipe(z.array(z.string().min(1).max(200)).min(1).max(50));
const eventsQuery = z.strictObject({
  type: names.optional(),
  /** Types to leave out, e.g. `rollout.ack,rollout.decided` (the machine's chatter). */
  exclude: names.optional(),
  actor: names.optional(),
  correlation: z.string().min(1).max(500).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  order: z.enum(['desc', 'asc']).default('desc'),
  cursor: z.string().regex(/^\d{1,19}$/, 'an event id').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  payload: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
});
const id = new ZodPipe(deploymentIdSchema, 'param');

/** The audit log of a deployment (operator, analyst). */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/deployments/:id/events')
export class EventsController {
  constructor(private readonly listEvents: ListEventsUseCase) {}

  @Get()
  @Roles('operator', 'analyst')
  @ApiOperation({
    summary:
      "The deployment's events, newest first (order=asc&cursor=ID to follow): filter by type (and `exclude` types) and actor (comma-separated, `prefix*`), correlation id (one chain of custody: interval → run → map version → rollout → layer commits → gate → outcome), from/to (ISO-8601); paged by cursor",
  })
  list(@Param('id', id) dep: string, @ZodQuery(eventsQuery) q: z.infer<typeof eventsQuery>): Promise<AuditEventsResponse> {
    return this.listEvents.execute(dep, {
      ...(q.type ? { types: q.type } : {}),
      ...(q.exclude ? { excludeTypes: q.exclude } : {}),
      ...(q.actor ? { actors: q.actor } : {}),
      ...(q.correlation !== undefined ? { correlationId: q.correlation } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      order: q.order,
      limit: q.limit,
      payload: q.payload,
    });
  }
}
