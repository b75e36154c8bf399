import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiTokenRepository, Role } from '@eplb/persistence';
import { IS_PUBLIC, PROBLEM_TYPES, ProblemError } from '@eplb/platform';
import { ANY_SCOPE_KEY } from './any-scope.decorator';
import { authenticate } from './bearer-token';
import { ROLES_KEY } from './roles.decorator';
import type { AuthedRequest } from './request-context';

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
    // a request with a body was authenticated before its body was read (authenticateBeforeBody)
    const principal = req.principal ?? (await authenticate(req.headers, this.tokens));
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
