import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApprovalResponse, deploymentIdSchema, HEAT_PHASES, PolicyRunListResponse, PolicyRunResponse, RejectRunResponse, SettingsResponse, WhatIfResponse } from '@eplb/contracts';
import { EventMeta } from '@eplb/persistence';
import { ProposalDecisions } from '@eplb/planning';
import { ZodPipe, ZodQuery } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { HeatRangeResolver } from '../heat/heat-range';
import { GetSettingsUseCase } from './get-settings.use-case';
import { PolicyRunsUseCase } from './policy-runs.use-case';
import { UpdateSettingsUseCase } from './update-settings.use-case';
import { ApproveProposalUseCase } from './approve-proposal.use-case';
import { policySettings } from './settings.schema';
import { WhatIfUseCase } from './what-if.use-case';

const settingsBody = policySettings
  .refine((b) => Object.keys(b).length > 0, { message: 'name at least one setting' });
const decisionBody = z.strictObject({ reason: z.string().min(1).max(2000) });
const approveBody = decisionBody.extend({
  /** Request the rollout of the new version in the same call, with the deployment's rollout settings (approve mode). */
  deploy: z.boolean().optional(),
  /** With deploy: queue the rollout even when nodes it needs have no live agent. */
  force: z.boolean().optional(),
});
const runsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(20), status: z.enum(['proposed', 'nothing', 'failed']).optional() });
const runId = z.uuid();
const whatIfBody = z.strictObject({
  policy: z.string().min(1).max(64).optional(),
  phase: z.enum(HEAT_PHASES).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  mapVersion: z.number().int().positive().optional(),
  threshold: z.number().min(0).max(10).optional(),
  minGain: z.number().min(0).max(10).optional(),
  maxTransfers: z.number().int().min(0).nullable().optional(),
});
const id = new ZodPipe(deploymentIdSchema, 'param');

/** Policy settings, policy runs (proposals and decisions), approval, and what-if. */
@ApiTags('policy')
@ApiBearerAuth()
@Controller('v1/deployments/:id')
export class PolicyController {
  constructor(
    private readonly updateSettings: UpdateSettingsUseCase,
    private readonly getSettings: GetSettingsUseCase,
    private readonly runs: PolicyRunsUseCase,
    private readonly decisions: ProposalDecisions,
    private readonly approveProposal: ApproveProposalUseCase,
    private readonly ranges: HeatRangeResolver,
    private readonly whatIfs: WhatIfUseCase,
  ) {}

  @Get('settings')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'Policy settings: policy, cadence, threshold, minimum gain, transfer budget, phase, mode' })
  settings(@Param('id', id) dep: string): Promise<SettingsResponse> {
    return this.getSettings.execute(dep);
  }

  @Patch('settings')
  @Roles('operator')
  @ApiOperation({ summary: 'Change policy settings (a new settings version; the scheduler follows within seconds)' })
  @ApiBody({ schema: z.toJSONSchema(settingsBody) as object })
  patch(@Param('id', id) dep: string, @Body(new ZodPipe(settingsBody)) body: z.infer<typeof settingsBody>, @Actor() meta: EventMeta): Promise<SettingsResponse> {
    return this.updateSettings.execute(dep, body, meta);
  }

  @Get('runs')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'Policy runs, newest first: proposals, "nothing worth deploying" decisions and failures' })
  list(@Param('id', id) dep: string, @ZodQuery(runsQuery) q: z.infer<typeof runsQuery>): Promise<PolicyRunListResponse> {
    return this.runs.list(dep, q.limit, q.status);
  }

  @Get('runs/:runId')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'One policy run with its candidate map' })
  get(@Param('id', id) dep: string, @Param('runId', new ZodPipe(runId, 'param')) run: string): Promise<PolicyRunResponse> {
    return this.runs.get(dep, run);
  }

  @Post('runs/:runId/approve')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Approve a proposal: its candidate becomes the next map version; with deploy, its rollout is requested too (deployment rollout settings)' })
  @ApiBody({ schema: z.toJSONSchema(approveBody) as object })
  approve(@Param('id', id) dep: string, @Param('runId', new ZodPipe(runId, 'param')) run: string, @Body(new ZodPipe(approveBody)) body: z.infer<typeof approveBody>, @Actor() meta: EventMeta): Promise<ApprovalResponse> {
    return this.approveProposal.execute(dep, run, body, meta);
  }

  @Post('runs/:runId/reject')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Reject a proposal, with the reason' })
  @ApiBody({ schema: z.toJSONSchema(decisionBody) as object })
  async reject(@Param('id', id) dep: string, @Param('runId', new ZodPipe(runId, 'param')) run: string, @Body(new ZodPipe(decisionBody)) body: z.infer<typeof decisionBody>, @Actor() meta: EventMeta): Promise<RejectRunResponse> {
    await this.decisions.reject(dep, run, { ...meta, reason: body.reason });
    return { rejected: true };
  }

  @Post('what-if')
  @HttpCode(200)
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'Any policy on any stored range against any map version, recording nothing' })
  @ApiBody({ schema: z.toJSONSchema(whatIfBody) as object })
  async whatIf(@Param('id', id) dep: string, @Body(new ZodPipe(whatIfBody)) body: z.infer<typeof whatIfBody>): Promise<WhatIfResponse> {
    const range = await this.ranges.resolve(dep, { phase: body.phase ?? 'decode', from: body.from, to: body.to });
    const { policy, threshold, minGain, maxTransfers } = body;
    return this.whatIfs.execute(range, body.mapVersion, {
      ...(policy !== undefined ? { policy } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(minGain !== undefined ? { minGain } : {}),
      ...(maxTransfers !== undefined ? { maxTransfers } : {}),
    });
  }
}
