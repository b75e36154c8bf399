import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { ROLLOUT_CONTROL_ACTIONS, ROLLOUT_EVENTS, RolloutControlAction, deploymentIdSchema, deploymentRolloutsStream, rolloutStream } from '@eplb/contracts';
import { RolloutEvent, replayRollout, rolloutSummary } from '@eplb/domain';
import { appendEvents, DeploymentRepository, EventMeta } from '@eplb/persistence';
import { conflictProblem, notFoundProblem, validationProblem, ZodPipe } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { DeploymentRolloutsReader, statusOf, timesOf } from './deployment-rollouts.reader';

const step = z.union([z.number().int().positive(), z.literal('rest'), z.strictObject({ layers: z.union([z.number().int().positive(), z.literal('rest')]), analysis: z.boolean().optional() })]);
const startBody = z.strictObject({
  mapVersion: z.number().int().positive(),
  steps: z.array(step).min(1).max(64).optional(),
  onFailure: z.enum(['rollback', 'hold']).optional(),
  /** Cap on the bytes each agent sends per second during this rollout (keeps transfers from starving serving). */
  bytesPerSecond: z.number().positive().max(1e12).optional(),
  reason: z.string().min(1).max(2000),
});
const controlBody = z.strictObject({ reason: z.string().min(1).max(2000), rollback: z.boolean().optional() });
const id = new ZodPipe(deploymentIdSchema, 'param');
const rid = new ZodPipe(z.uuid(), 'param');
const action = new ZodPipe(z.enum(ROLLOUT_CONTROL_ACTIONS), 'param');

/**
 * Rollouts of map versions (operator). The API does not drive rollouts: it appends the request
 * (or the operator's control) to the deployment's `rollouts:<id>` stream in the event store, and
 * the rollout service, which polls that stream and holds the deployment's lock, picks it up.
 * Status is replayed from the rollout's own event stream, the same log the service runs from.
 */
@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('v1/deployments/:id/rollouts')
export class RolloutsController {
  constructor(
    private readonly ds: DataSource,
    private readonly deployments: DeploymentRepository,
    private readonly rollouts: DeploymentRolloutsReader,
  ) {}

  private async view(dep: string) {
    return (await this.rollouts.load(dep)).view;
  }

  @Post()
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'Roll a map version out, layer by layer (accepted; the rollout service starts it)' })
  @ApiBody({ schema: z.toJSONSchema(startBody) as object })
  async start(@Param('id', id) dep: string, @Body(new ZodPipe(startBody)) body: z.infer<typeof startBody>, @Actor() meta: EventMeta): Promise<{ rolloutId: string; status: string }> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    if (body.mapVersion > d.latestMapVersion) throw validationProblem([{ field: 'mapVersion', message: `${dep} has versions 1..${d.latestMapVersion}` }]);
    const v = await this.view(dep);
    const busy = v.active() ?? v.pending()[0]?.payload.rolloutId;
    if (busy) throw conflictProblem(`rollout ${busy} of ${dep} is not finished; one rollout at a time`);
    const rolloutId = randomUUID();
    const { reason, ...rest } = body;
    await this.ds.transaction((em) =>
      appendEvents(em, [{ stream: deploymentRolloutsStream(dep), type: ROLLOUT_EVENTS.requested, payload: { rolloutId, ...rest }, ...meta, reason }]),
    );
    return { rolloutId, status: 'REQUESTED' };
  }

  @Get()
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: "The deployment's rollouts, oldest first, and the version each layer is committed on" })
  async list(@Param('id', id) dep: string) {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    const { view: v, events } = await this.rollouts.load(dep);
    return {
      committedVersions: v.committedVersions(d.numLayers),
      rebalancing: v.active() !== null,
      items: [...v.requests.values()].map((r) => {
        const rolloutId = r.payload.rolloutId;
        const t = timesOf(events, rolloutId);
        return {
          rolloutId,
          mapVersion: r.payload.mapVersion,
          fromVersion: v.started.get(rolloutId)?.fromVersion ?? null,
          requestedBy: r.actor,
          reason: r.reason,
          status: statusOf(v, rolloutId),
          failure: v.finished.get(rolloutId)?.failure ?? null,
          rejected: v.rejected.get(rolloutId) ?? null,
          requestedAt: t.requestedAt?.toISOString() ?? null,
          startedAt: t.startedAt?.toISOString() ?? null,
          finishedAt: t.finishedAt?.toISOString() ?? null,
        };
      }),
    };
  }

  @Get(':rid')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'One rollout: status, failure, and per layer its status and version' })
  async get(@Param('id', id) dep: string, @Param('rid', rid) rolloutId: string) {
    const v = await this.view(dep);
    const req = v.requests.get(rolloutId);
    if (!req) throw notFoundProblem(`deployment ${dep} has no rollout ${rolloutId}`);
    const events = (await this.rollouts.readAll(rolloutStream(rolloutId))).map((e) => e.payload as unknown as RolloutEvent);
    const base = { rolloutId, deployment: dep, mapVersion: req.payload.mapVersion, requestedBy: req.actor, reason: req.reason };
    if (events.length === 0) return { ...base, status: statusOf(v, rolloutId), rejected: v.rejected.get(rolloutId) ?? null, layers: [] };
    return { ...base, ...rolloutSummary(replayRollout(events)) };
  }

  @Post(':rid/:action')
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'pause | resume | abort | promote a rollout (accepted; applied by the rollout service)' })
  @ApiBody({ schema: z.toJSONSchema(controlBody) as object })
  async control(
    @Param('id', id) dep: string,
    @Param('rid', rid) rolloutId: string,
    @Param('action', action) act: RolloutControlAction,
    @Body(new ZodPipe(controlBody)) body: z.infer<typeof controlBody>,
    @Actor() meta: EventMeta,
  ): Promise<{ rolloutId: string; action: string; accepted: true }> {
    const v = await this.view(dep);
    if (!v.requests.has(rolloutId)) throw notFoundProblem(`deployment ${dep} has no rollout ${rolloutId}`);
    if (v.finished.has(rolloutId) || v.rejected.has(rolloutId)) throw conflictProblem(`rollout ${rolloutId} is finished (${statusOf(v, rolloutId)})`);
    await this.ds.transaction((em) =>
      appendEvents(em, [
        {
          stream: deploymentRolloutsStream(dep),
          type: ROLLOUT_EVENTS.controlRequested,
          payload: { rolloutId, action: act, ...(body.rollback !== undefined && act === 'abort' ? { rollback: body.rollback } : {}) },
          ...meta,
          reason: body.reason,
        },
      ]),
    );
    return { rolloutId, action: act, accepted: true };
  }
}
