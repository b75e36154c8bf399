import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WhoAmIResponse } from '@eplb/contracts';
import { ROLES } from '@eplb/persistence';
import { AnyScope } from '../auth/any-scope.decorator';
import type { AuthedRequest } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { toWhoAmI } from './who-am-i.response';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @Roles(...ROLES)
  @AnyScope()
  @ApiOperation({ summary: "Who the bearer token is: its name, role and scope (the console checks a token's role at sign-in)" })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['name', 'role', 'scope'],
      properties: {
        name: { type: 'string' },
        role: { type: 'string', enum: [...ROLES] },
        scope: {
          type: 'object',
          nullable: true,
          properties: { deployment: { type: 'string' }, node: { type: 'integer' } },
          required: ['deployment'],
        },
      },
    },
  })
  me(@Req() req: AuthedRequest): WhoAmIResponse {
    // the guard set the principal: every route but the public ones has one
    return toWhoAmI(req.principal!);
  }
}
