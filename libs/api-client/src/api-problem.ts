import type { ProblemDetails } from '@eplb/contracts';

/**
 * An error answer of the API, as its problem+json body says it (RFC 9457): callers branch on
 * `status` (404: no such thing, 409: conflict) and show `message`, one line: `404 Not found:
 * deployment x does not exist`. A non-problem error body (a proxy's page, say) keeps its text as
 * the detail.
 */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  /** Per-field validation failures, when the API named them. */
  readonly errors: readonly { field: string; message: string }[];
  readonly correlationId: string | undefined;
  /** The problem's extension members (RFC 9457 §3.2), e.g. `nodes` of a 409 naming nodes without a live agent. */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(problem: Pick<ProblemDetails, 'status' | 'title'> & Partial<ProblemDetails>) {
    const detail = oneLine(problem.detail ?? '');
    super(`${problem.status} ${problem.title}${detail ? `: ${detail}` : ''}`);
    this.status = problem.status;
    this.title = problem.title;
    this.detail = detail;
    this.type = problem.type ?? 'about:blank';
    this.errors = problem.errors ?? [];
    this.correlationId = problem.correlationId;
    const { type: _t, title: _ti, status: _s, detail: _d, instance: _i, errors: _e, correlationId: _c, ...extensions } = problem;
    this.extensions = extensions;
  }

  /** Reads an error answer's body: problem+json when it is one, else its text. */
  static fromBody(status: number, statusText: string, body: string): ApiProblem {
    let p: Partial<ProblemDetails> | undefined;
    try {
      const parsed = JSON.parse(body) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) p = parsed as Partial<ProblemDetails>;
    } catch {
      p = undefined; // not JSON: the text is the detail
    }
    return new ApiProblem({
      ...(p ?? {}),
      status,
      title: typeof p?.title === 'string' ? p.title : statusText || `HTTP ${status}`,
      detail: typeof p?.detail === 'string' ? p.detail : p ? undefined : body.slice(0, 500),
    });
  }
}

/** The API did not answer at all (refused, timed out, DNS): nothing was done. */
export class ApiUnreachable extends Error {
  override readonly name = 'ApiUnreachable';

  constructor(
    readonly baseUrl: string,
    readonly reason: string,
  ) {
    super(`API at ${baseUrl} unreachable (${reason})`);
  }
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();
