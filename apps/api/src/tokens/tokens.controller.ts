import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { IssuedToken } from '@eplb/contracts';
import { ROLES, EventMeta } from '@eplb/persistence';
import { ZodPipe } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { IssueTokenUseCase } from './issue-token.use-case';

const issueTokenBody = z
  .strictObject({
    name: z.string().min(1).max(200),
    role: z.enum(ROLES),
    /** Agent tokens only: the deployment (and node) the token may act for. */
    scope: z.strictObject({ deployment: z.string().min(1).max(128), node: z.number().int().nonnegative().optional() }).optional(),
  })
  .refine((b) => b.scope === undefined || b.role === 'agent', { message: 'only agent tokens take a scope', path: ['scope'] });

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly issueToken: IssueTokenUseCase) {}

  @Post()
  @HttpCode(201)
  @Roles('operator')
  @ApiOperation({ summary: 'Issue an API token for a role; the token is shown once' })
  @ApiBody({ schema: z.toJSONSchema(issueTokenBody) as object })
  issue(@Body(new ZodPipe(issueTokenBody)) body: z.infer<typeof issueTokenBody>, @Actor() meta: EventMeta): Promise<IssuedToken> {
    return this.issueToken.execute(body, meta);
  }
}
