import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiTokenRepository, Role } from '@eplb/persistence';
import { IS_PUBLIC, PROBLEM_TYPES, ProblemError } from '@eplb/platform';
import { ANY_SCOPE_KEY } from './any-scope.decorator';
import { ROLES_KEY } from './roles.decorator';
import type { AuthedRequest } from './request-context';

const unauthenticated = (detail: string) =>
  new ProblemError({ type: PROBLEM_TYPES.unauthenticated, title: 'Unauthenticated', status: 401, detail });

/** Bearer-token authentication and role check for every route (default: refuse). */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokenRepository,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    if (!header) throw unauthenticated('missing Authorization: Bearer <token>');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthenticated('Authorization must be "Bearer <token>"');
    const principal = await this.tokens.findActive(match[1]);
    if (!principal) throw unauthenticated('unknown or revoked token');
    req.principal = principal;
    if (!roles || !roles.includes(principal.role)) {
      throw new ProblemError({
        type: PROBLEM_TYPES.forbidden,
        title: 'Forbidden',
        status: 403,
        detail: roles ? `role ${principal.role} may not do this; needs one of: ${roles.join(', ')}` : 'this route is not open to any role',
      });
    }
    // a scoped (agent) token reads only its deployment's routes (and those about itself)
    const scope = this.reflector.getAllAndOverride<boolean>(ANY_SCOPE_KEY, targets) ? undefined : principal.scope;
    const dep = (req as unknown as { params?: Record<string, string> }).params?.id;
    if (scope && (dep === undefined || dep !== scope.deployment)) {
      throw new ProblemError({
        type: PROBLEM_TYPES.forbidden,
        title: 'Forbidden',
        status: 403,
        detail: `this token is scoped to deployment ${scope.deployment}`,
      });
    }
    return true;
  }
}
