import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodPipe } from '@eplb/platform';
import { Roles } from '../auth/roles.decorator';
import { AgentsResponse, deploymentIdSchema } from '@eplb/contracts';
import { AgentsUseCase } from './agents.use-case';

/** The agents of a deployment: registered, connected, last heartbeat, the versions they hold. */
@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('v1/deployments/:id/agents')
export class AgentsController {
  constructor(private readonly agents: AgentsUseCase) {}

  @Get()
  @Roles('operator', 'analyst', 'agent')
  @ApiOperation({ summary: 'Per node: connected on the control channel, Kafka only, stale or missing; ranks, last heard, versions held' })
  list(@Param('id', new ZodPipe(deploymentIdSchema, 'param')) dep: string): Promise<AgentsResponse> {
    return this.agents.execute(dep);
  }
}
