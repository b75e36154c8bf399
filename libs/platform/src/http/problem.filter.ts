import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Observable, throwError } from 'rxjs';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '@eplb/domain';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, ProblemDetails, ProblemError } from './problem';

/**
 * The one place where errors become HTTP. 4xx pass through as problems; anything unexpected is a
 * 500 whose body carries only a correlation id, logged with the stack, so users can report it
 * without the server leaking internals.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void | Observable<never> {
    // Microservice handlers (Kafka batches) keep their error: the transport retries the batch.
    if (host.getType() !== 'http') return throwError(() => err);
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const correlationId = (req.headers['x-correlation-id'] as string | undefined) ?? randomUUID();
    const problem = this.toProblem(err, correlationId);
    problem.instance ??= req.originalUrl;
    if (problem.status >= 500) {
      this.logger.error({ err, correlationId, path: req.originalUrl, method: req.method }, 'request failed');
    }
    res.status(problem.status).type(PROBLEM_CONTENT_TYPE).setHeader('x-correlation-id', correlationId);
    res.send(JSON.stringify(problem));
  }

  private toProblem(err: unknown, correlationId: string): ProblemDetails {
    if (err instanceof ProblemError) return { ...err.problem };
    if (err instanceof DomainError) {
      const status = err.code === 'not-found' ? 404 : err.code === 'conflict' ? 409 : 400;
      return {
        type: status === 404 ? PROBLEM_TYPES.notFound : status === 409 ? PROBLEM_TYPES.conflict : PROBLEM_TYPES.validation,
        title: status === 404 ? 'Not found' : status === 409 ? 'Conflict' : 'Invalid request',
        status,
        detail: err.message,
        ...(err.field ? { errors: [{ field: err.field, message: err.message }] } : {}),
      };
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const body = err.getResponse();
      const detail = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? err.message);
      return {
        type: status === 404 ? PROBLEM_TYPES.notFound : PROBLEM_TYPES.http,
        title: err.name.replace(/Exception$/, '').replace(/([a-z])([A-Z])/g, '$1 $2') || 'Error',
        status,
        detail: Array.isArray(detail) ? detail.join('; ') : String(detail),
        ...(status >= 500 ? { correlationId } : {}),
      };
    }
    // Errors of the HTTP layer below Nest (body-parser: malformed JSON 400, body too large 413)
    // are client errors with a message meant for the client (http-errors' `expose`).
    const httpError = err as { status?: unknown; expose?: unknown; message?: unknown; type?: unknown };
    if (typeof httpError?.status === 'number' && httpError.status >= 400 && httpError.status < 500 && httpError.expose === true) {
      return {
        type: PROBLEM_TYPES.http,
        title: httpError.status === 413 ? 'Payload too large' : 'Bad request',
        status: httpError.status,
        detail: httpError.status === 413 ? `request body too large (${String(httpError.message)})` : `request body: ${String(httpError.message)}`,
      };
    }
    return {
      type: PROBLEM_TYPES.internal,
      title: 'Internal error',
      status: 500,
      detail: 'The server failed to handle the request; quote the correlation id when reporting it.',
      correlationId,
    };
  }
}
