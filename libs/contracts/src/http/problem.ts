/**
 * RFC 9457 problem details: the body of every error answer of the HTTP apps, media type
 * `application/problem+json`. `type` is a stable URI per kind of problem; `errors` names each
 * invalid field of a request.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** On 5xx answers: the id the server's logs carry for this request. */
  correlationId?: string;
  /** Per-field validation failures. */
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}
