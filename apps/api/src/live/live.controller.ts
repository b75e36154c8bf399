import { Controller, MessageEvent, Param, Query, Req, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Observable } from 'rxjs';
import { z } from 'zod';
import { deploymentIdSchema, HEAT_PHASES } from '@eplb/contracts';
import { ZodPipe } from '@eplb/platform';
import type { AuthedRequest } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { DeploymentLiveService } from './deployment-live.service';

const id = new ZodPipe(deploymentIdSchema, 'param');
const phase = new ZodPipe(z.enum(HEAT_PHASES).default('decode'), 'query');

@ApiTags('live')
@ApiBearerAuth()
@Controller('v1/deployments/:id/live')
export class LiveController {
  constructor(private readonly live: DeploymentLiveService) {}

  @Sse()
  @Roles('operator', 'analyst')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-sent events: `rollout`, `heat` (a newer episode of `phase`, or a sealed interval) and `audit` changes, each with the newest event id or episode; first one of each saying where the stream starts. Bearer header only (read it with fetch); ends when the token is revoked, or after ten minutes',
  })
  stream(@Param('id', id) dep: string, @Query('phase', phase) ph: string, @Req() req: AuthedRequest): Promise<Observable<MessageEvent>> {
    // the guard authenticated this header: the stream re-checks the same token while it runs
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')![1];
    return this.live.open(dep, ph, token);
  }
}
