import type { ProblemDetails } from '@eplb/contracts';

/**
 * RFC 9457 problem details (the body, `ProblemDetails`, is declared with the other HTTP bodies in
 * contracts). Every error any HTTP app returns has that shape and the media type
 * `application/problem+json`; `type` is a stable URI per kind of problem that docs can explain.
 */
export type { ProblemDetails };

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const base = 'https://eplb.dev/problems/';

export const PROBLEM_TYPES = {
  validation: `${base}validation`,
  unauthenticated: `${base}unauthenticated`,
  forbidden: `${base}forbidden`,
  notFound: `${base}not-found`,
  conflict: `${base}conflict`,
  notReady: `${base}not-ready`,
  internal: `${base}internal`,
  http: `${base}http`,
} as const;

/** An error the edge turns into a problem as is. Thrown by guards, pipes and use cases. */
export class ProblemError extends Error {
  constructor(readonly problem: ProblemDetails) {
    super(problem.detail ?? problem.title);
  }
}

export const validationProblem = (errors: { field: string; message: string }[], detail?: string) =>
  new ProblemError({
    type: PROBLEM_TYPES.validation,
    title: 'Invalid request',
    status: 400,
    detail: detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  });

export const notFoundProblem = (detail: string) =>
  new ProblemError({ type: PROBLEM_TYPES.notFound, title: 'Not found', status: 404, detail });

export const conflictProblem = (detail: string) =>
  new ProblemError({ type: PROBLEM_TYPES.conflict, title: 'Conflict', status: 409, detail });
