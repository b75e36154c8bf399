import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ROLLOUT_CONTROL_ACTIONS, RolloutAccepted, RolloutControlAccepted, RolloutControlAction, RolloutDetailWithOutcome, RolloutListWithOutcomesResponse, RolloutTimeline, deploymentIdSchema } from '@eplb/contracts';
import { EventMeta } from '@eplb/persistence';
import { ZodPipe } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { ControlRolloutUseCase } from './control-rollout.use-case';
import { GetRolloutUseCase } from './get-rollout.use-case';
import { ListRolloutsUseCase } from './list-rollouts.use-case';
import { RequestRolloutUseCase } from './request-rollout.use-case';
import { rolloutSteps } from './rollout-step.schema';
import { RolloutTimelineUseCase } from './rollout-timeline.use-case';

const startBody = z.strictObject({
  mapVersion: z.number().int().positive(),
  steps: rolloutSteps.optional(),
  onFailure: z.enum(['rollback', 'hold']).optional(),
  /** Cap on the bytes each agent sends per second during this rollout (keeps transfers from starving serving). */
  bytesPerSecond: z.number().positive().max(1e12).optional(),
  /** Layers in flight at once (1 = one after the other); absent: the rollout service's ROLLOUT_WINDOW. */
  window: z.number().int().min(1).max(64).optional(),
  reason: z.string().min(1).max(2000),
  /** Queue it even when nodes it needs have no live agent (refused with 409 naming them otherwise). */
  force: z.boolean().optional(),
});
const controlBody = z.strictObject({ reason: z.string().min(1).max(2000), rollback: z.boolean().optional() });
const id = new ZodPipe(deploymentIdSchema, 'param');
const rid = new ZodPipe(z.uuid(), 'param');
const action = new ZodPipe(z.enum(ROLLOUT_CONTROL_ACTIONS), 'param');

/**
 * Rollouts of map versions (operator). The API does not drive rollouts: it records the request
 * (or the operator's control) and the rollout service picks it up; status is replayed from the
 * rollout's own event stream.
 */
@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('v1/deployments/:id/rollouts')
export class RolloutsController {
  constructor(
    private readonly requestRollout: RequestRolloutUseCase,
    private readonly controlRollout: ControlRolloutUseCase,
    private readonly listRollouts: ListRolloutsUseCase,
    private readonly getRollout: GetRolloutUseCase,
    private readonly timeline: RolloutTimelineUseCase,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'Roll a map version out, layer by layer (accepted; the rollout service starts it)' })
  @ApiBody({ schema: z.toJSONSchema(startBody) as object })
  start(@Param('id', id) dep: string, @Body(new ZodPipe(startBody)) body: z.infer<typeof startBody>, @Actor() meta: EventMeta): Promise<RolloutAccepted> {
    return this.requestRollout.execute(dep, body, meta);
  }

  @Get()
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: "The deployment's rollouts, oldest first, each with its measured outcome, and the version each layer is committed on" })
  list(@Param('id', id) dep: string): Promise<RolloutListWithOutcomesResponse> {
    return this.listRollouts.execute(dep);
  }

  @Get(':rid')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'One rollout: status, failure, per layer its status and version, and its measured outcome (imbalance before → after, per layer, beside the projection)' })
  get(@Param('id', id) dep: string, @Param('rid', rid) rolloutId: string): Promise<RolloutDetailWithOutcome> {
    return this.getRollout.execute(dep, rolloutId);
  }

  @Get(':rid/timeline')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: "One rollout over time: per layer its prepare/commit/abort bars (first send to last ack, refusal or deadline), batches with their gates' verdicts, bytes planned and moved, the operator's controls" })
  timelineOf(@Param('id', id) dep: string, @Param('rid', rid) rolloutId: string): Promise<RolloutTimeline> {
    return this.timeline.execute(dep, rolloutId);
  }

  @Post(':rid/:action')
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'pause | resume | abort | promote a rollout (accepted; applied by the rollout service)' })
  @ApiParam({ name: 'action', enum: ROLLOUT_CONTROL_ACTIONS })
  @ApiBody({ schema: z.toJSONSchema(controlBody) as object })
  control(
    @Param('id', id) dep: string,
    @Param('rid', rid) rolloutId: string,
    @Param('action', action) act: RolloutControlAction,
    @Body(new ZodPipe(controlBody)) body: z.infer<typeof controlBody>,
    @Actor() meta: EventMeta,
  ): Promise<RolloutControlAccepted> {
    return this.controlRollout.execute(dep, rolloutId, { action: act, ...body }, meta);
  }
}
