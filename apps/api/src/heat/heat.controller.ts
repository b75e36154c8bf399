import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodPipe } from '@eplb/platform';
import { deploymentId } from '../deployments/deployments.controller';
import { Roles } from '../auth/roles.decorator';
import { HeatReportPage, ListHeatReportsUseCase } from './list-heat-reports.use-case';

const reportsQuery = z
  .strictObject({
    fromStep: z.coerce.number().int().nonnegative().optional(),
    toStep: z.coerce.number().int().positive().optional(),
    rank: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .refine((q) => q.fromStep === undefined || q.toStep === undefined || q.fromStep < q.toStep, {
    message: 'fromStep must be below toStep',
    path: ['fromStep'],
  });

@ApiTags('heat')
@ApiBearerAuth()
@Controller('v1/deployments/:id/heat')
export class HeatController {
  constructor(private readonly listReports: ListHeatReportsUseCase) {}

  @Get('reports')
  @Roles('analyst', 'operator')
  @ApiOperation({ summary: 'Heat reports as received from the workers, per (rank, step), bounded and paginated' })
  reports(
    @Param('id', new ZodPipe(deploymentId, 'param')) id: string,
    @Query(new ZodPipe(reportsQuery, 'query')) q: z.infer<typeof reportsQuery>,
  ): Promise<HeatReportPage> {
    return this.listReports.execute({ deployment: id, ...q });
  }
}
