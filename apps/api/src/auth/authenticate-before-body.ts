import type { NextFunction, Response } from 'express';
import type { ApiTokenRepository } from '@eplb/persistence';
import { authenticate } from './bearer-token';
import type { AuthedRequest } from './request-context';

/** Whether the request announces a body (a length above zero, or a chunked one). */
const carriesBody = (req: AuthedRequest): boolean => {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

/**
 * Express middleware ahead of the body parsers: a request with a body must name a known token
 * before a byte of its body is read, so that nobody without one makes the API buffer and parse
 * megabytes. No route without authentication takes a body (health, readiness, metrics, docs are
 * reads); the role check stays with the route (TokenGuard), which reuses the principal.
 */
export function authenticateBeforeBody(tokens: ApiTokenRepository) {
  return (req: AuthedRequest, _res: Response, next: NextFunction): void => {
    if (!carriesBody(req)) return next();
    authenticate(req.headers, tokens).then(
      (principal) => {
        req.principal = principal;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}
