import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { IssuedToken, TokenList, TokenSummary } from '@eplb/contracts';
import { ROLES, EventMeta } from '@eplb/persistence';
import { ZodPipe } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { IssueTokenUseCase } from './issue-token.use-case';
import { ListTokensUseCase } from './list-tokens.use-case';
import { RevokeTokenUseCase } from './revoke-token.use-case';

const issueTokenBody = z
  .strictObject({
    name: z.string().min(1).max(200),
    role: z.enum(ROLES),
    /** Agent tokens only: the deployment (and node) the token may act for. */
    scope: z.strictObject({ deployment: z.string().min(1).max(128), node: z.number().int().nonnegative().optional() }).optional(),
    /** After this the token is refused. */
    expiresAt: z.iso
      .datetime({ offset: true })
      .refine((s) => Date.parse(s) > Date.now(), 'must be in the future')
      .optional(),
  })
  .refine((b) => b.scope === undefined || b.role === 'agent', { message: 'only agent tokens take a scope', path: ['scope'] })
  // an agent token acts for one node only: a leaked one cannot speak for the others
  .refine((b) => b.role !== 'agent' || b.scope?.node !== undefined, { message: 'agent tokens must be scoped to a deployment and one node of it', path: ['scope'] });

const tokenId = new ZodPipe(z.uuid(), 'param');
const revokeBody = z.strictObject({ reason: z.string().min(1).max(2000).optional() });

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/tokens')
export class TokensController {
  constructor(
    private readonly issueToken: IssueTokenUseCase,
    private readonly listTokens: ListTokensUseCase,
    private readonly revokeToken: RevokeTokenUseCase,
  ) {}

  @Get()
  @Roles('operator')
  @ApiOperation({ summary: 'Every token, newest first: name, role, scope, who issued it, expiry, status (active, expired, revoked); never the token' })
  list(): Promise<TokenList> {
    return this.listTokens.execute();
  }

  @Post(':tid/revoke')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Revoke a token: refused from now on (agent keys enrolled with it are no longer trusted); revoking twice keeps the first revocation' })
  @ApiBody({ schema: z.toJSONSchema(revokeBody) as object, required: false })
  revoke(@Param('tid', tokenId) id: string, @Body(new ZodPipe(revokeBody)) body: z.infer<typeof revokeBody>, @Actor() meta: EventMeta): Promise<TokenSummary> {
    return this.revokeToken.execute(id, { ...meta, ...(body.reason ? { reason: body.reason } : {}) });
  }

  @Post()
  @HttpCode(201)
  @Roles('operator')
  @ApiOperation({ summary: 'Issue an API token for a role (agent tokens scoped to a deployment and one node), optionally expiring; the token is shown once' })
  @ApiBody({ schema: z.toJSONSchema(issueTokenBody) as object })
  issue(@Body(new ZodPipe(issueTokenBody)) body: z.infer<typeof issueTokenBody>, @Actor() meta: EventMeta): Promise<IssuedToken> {
    return this.issueToken.execute(body, meta);
  }
}
