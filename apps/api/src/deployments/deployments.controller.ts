import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DeploymentListResponse, DeploymentResponse, deploymentIdSchema, deploymentShapeSchema, shapeFromBody } from '@eplb/contracts';
import { EventMeta } from '@eplb/persistence';
import { ZodPipe, ZodQuery } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { policySettings } from '../policy/settings.schema';
import { Roles } from '../auth/roles.decorator';
import { CreateDeploymentUseCase } from './create-deployment.use-case';
import { GetDeploymentUseCase } from './get-deployment.use-case';
import { ListDeploymentsUseCase } from './list-deployments.use-case';

const positive = z.number().int().positive();

const createBody = z.strictObject({
  id: deploymentIdSchema,
  shape: deploymentShapeSchema,
  windows: z
    .strictObject({
      episodeSteps: positive.max(65536).default(16),
      intervalSteps: positive.max(1 << 24).default(1024),
      latenessSteps: z.number().int().nonnegative().max(1 << 20).default(64),
    })
    .default({ episodeSteps: 16, intervalSteps: 1024, latenessSteps: 64 }),
  /** physical_to_logical rows, or an engine's map file (vllm-ascend's expert_map JSON) */
  initialMap: z
    .union([z.array(z.array(z.number().int().nonnegative())), z.strictObject({ format: z.enum(['vllm-ascend', 'sglang', 'eplb']), document: z.record(z.string(), z.unknown()) })])
    .optional(),
  settings: policySettings.optional(),
});

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: deploymentIdSchema.optional(),
});

@ApiTags('deployments')
@ApiBearerAuth()
@Controller('v1/deployments')
export class DeploymentsController {
  constructor(
    private readonly createDeployment: CreateDeploymentUseCase,
    private readonly listDeployments: ListDeploymentsUseCase,
    private readonly getDeployment: GetDeploymentUseCase,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('operator')
  @ApiOperation({ summary: 'Register a deployment with its shape and initial expert map (map version 1)' })
  @ApiBody({ schema: z.toJSONSchema(createBody) as object })
  create(@Body(new ZodPipe(createBody)) body: z.infer<typeof createBody>, @Actor() meta: EventMeta): Promise<DeploymentResponse> {
    return this.createDeployment.execute(
      {
        id: body.id,
        shape: shapeFromBody(body.shape),
        windows: body.windows,
        initialMap: body.initialMap,
        settings: body.settings,
      },
      meta,
    );
  }

  @Get()
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'List deployments (keyset pagination by id)' })
  list(@ZodQuery(listQuery) q: z.infer<typeof listQuery>): Promise<DeploymentListResponse> {
    return this.listDeployments.execute(q.limit, q.after);
  }

  @Get(':id')
  @Roles('operator', 'analyst', 'agent')
  @ApiOperation({ summary: 'One deployment' })
  get(@Param('id', new ZodPipe(deploymentIdSchema, 'param')) id: string): Promise<DeploymentResponse> {
    return this.getDeployment.execute(id);
  }
}
