import type { IncomingHttpHeaders } from 'node:http';
import { ApiTokenRepository, TokenPrincipal } from '@eplb/persistence';
import { PROBLEM_TYPES, ProblemError } from '@eplb/platform';

const unauthenticated = (detail: string) =>
  new ProblemError({ type: PROBLEM_TYPES.unauthenticated, title: 'Unauthenticated', status: 401, detail });

/** Who the request's `Authorization: Bearer <token>` names; a 401 problem when nobody. */
export async function authenticate(headers: IncomingHttpHeaders, tokens: ApiTokenRepository): Promise<TokenPrincipal> {
  const header = headers.authorization;
  if (!header) throw unauthenticated('missing Authorization: Bearer <token>');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthenticated('Authorization must be "Bearer <token>"');
  const principal = await tokens.findActive(match[1]);
  if (!principal) throw unauthenticated('unknown or revoked token');
  return principal;
}
