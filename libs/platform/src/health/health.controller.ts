import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES } from '../http/problem';
import { READINESS_CHECKS, ReadinessCheck, runChecks } from './readiness';

@Public()
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {}

  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process runs and its event loop answers' })
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: every dependency answers; 503 problem+json naming the ones that do not' })
  async readiness(@Res() res: Response): Promise<void> {
    const report = await runChecks(this.checks);
    if (report.status === 'ready') {
      res.status(200).json(report);
      return;
    }
    const down = Object.entries(report.checks).filter(([, c]) => c.status === 'down');
    res
      .status(503)
      .type(PROBLEM_CONTENT_TYPE)
      .send(
        JSON.stringify({
          type: PROBLEM_TYPES.notReady,
          title: 'Not ready',
          status: 503,
          detail: down.map(([name, c]) => `${name}: ${c.reason}`).join('; '),
          readiness: report.status,
          checks: report.checks,
        }),
      );
  }
}
