import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { EventMeta, TokenPrincipal } from '@eplb/persistence';

export interface AuthedRequest extends Request {
  principal?: TokenPrincipal;
}

/**
 * Who is asking and under which correlation id: what every event the request causes records.
 * The reason comes from the body (`reason`) or the `x-eplb-reason` header when the caller gives one.
 */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): EventMeta => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  const principal = req.principal;
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  return {
    actor: principal ? `${principal.role}:${principal.name}` : 'anonymous',
    reason: header('x-eplb-reason') ?? `${req.method} ${req.path}`,
    correlationId: header('x-correlation-id') ?? randomUUID(),
  };
});
