import { ApiProblem, ApiUnreachable } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';

/** What the exit status of a verb says, so scripts can tell a typo from a missing rollout from a down API. */
export const EXIT = {
  ok: 0,
  /** The API refused the request (invalid input, forbidden) or something else went wrong. */
  failed: 1,
  /** The command line: unknown verb or option, a missing or malformed argument. */
  usage: 2,
  /** What the command names does not exist: deployment, map version, run, rollout. */
  notFound: 3,
  /** The request conflicts with the state: a rollout in progress, a stale parent version, a finished rollout. */
  conflict: 4,
  /** Nothing answered at EPLB_API_URL. */
  unreachable: 5,
} as const;

export const EXIT_CODES_HELP = [
  'exit codes:',
  `  ${EXIT.ok}  ok`,
  `  ${EXIT.failed}  the API refused the request, or another error (one line on stderr says which)`,
  `  ${EXIT.usage}  usage: unknown verb or option, missing or malformed argument`,
  `  ${EXIT.notFound}  not found: no such deployment, map version, run or rollout`,
  `  ${EXIT.conflict}  conflict: e.g. a rollout is in progress, or the map version is not the latest`,
  `  ${EXIT.unreachable}  the API is unreachable (check EPLB_API_URL)`,
].join('\n');

/** The CLI found, before or without asking the API, that what the command names is not there. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The CLI found, before or without asking the API, that the state does not allow the command. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ApiUnreachable) return EXIT.unreachable;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof ApiProblem) {
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
  }
  return EXIT.failed;
}

/** The one stderr line a failure gets (without the `eplb VERB:` prefix). */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiUnreachable) return `${err.message}; set EPLB_API_URL`;
  return err instanceof Error ? err.message : String(err);
}
