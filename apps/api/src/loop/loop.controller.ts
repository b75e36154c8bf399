import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { deploymentIdSchema, LoopStatusResponse } from '@eplb/contracts';
import { ZodPipe } from '@eplb/platform';
import { Roles } from '../auth/roles.decorator';
import { LoopStatusUseCase } from './loop-status.use-case';

/** The automatic loop as an operator asks about it: why did (or didn't) it deploy. */
@ApiTags('policy')
@ApiBearerAuth()
@Controller('v1/deployments/:id/loop')
export class LoopController {
  constructor(private readonly status: LoopStatusUseCase) {}

  @Get()
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: "The deployment's mode and the automatic loop's last decision (deploy, wait, discard, trip, emergency) with its reason" })
  get(@Param('id', new ZodPipe(deploymentIdSchema, 'param')) dep: string): Promise<LoopStatusResponse> {
    return this.status.execute(dep);
  }
}
