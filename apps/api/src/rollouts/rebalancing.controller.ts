import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodPipe } from '@eplb/platform';
import { Roles } from '../auth/roles.decorator';
import { deploymentIdSchema, RebalancingResponse } from '@eplb/contracts';
import { RebalancingUseCase } from './rebalancing.use-case';

/** Whether a deployment's map is changing: what request routers poll (cheap, read-only). */
@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('v1/deployments/:id/rebalancing')
export class RebalancingController {
  constructor(private readonly rebalancing: RebalancingUseCase) {}

  @Get()
  @Roles('operator', 'analyst', 'agent')
  @ApiOperation({ summary: 'Rebalancing state: the rollout in progress (from → to version, layers committed of total, since when), and each layer\'s version' })
  get(@Param('id', new ZodPipe(deploymentIdSchema, 'param')) dep: string): Promise<RebalancingResponse> {
    return this.rebalancing.execute(dep);
  }
}
