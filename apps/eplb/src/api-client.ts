import { DEV_BOOTSTRAP_TOKEN } from '@eplb/platform';

/**
 * The control plane's HTTP API as the CLI uses it: EPLB_API_URL (default the local stack) and
 * EPLB_TOKEN (default the development operator token). A problem+json answer becomes one error
 * line naming what is wrong.
 */
export class ApiClient {
  constructor(
    private readonly base = process.env.EPLB_API_URL ?? 'http://127.0.0.1:3000',
    private readonly token = process.env.EPLB_TOKEN ?? DEV_BOOTSTRAP_TOKEN,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.text(method, path, body);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The answer's body as text (an exported map file, say); errors as in `call`. */
  async text(method: string, path: string, body?: unknown): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), 'x-eplb-reason': 'eplb CLI' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`API at ${this.base} unreachable (${(err as Error).message}); set EPLB_API_URL`);
    }
    const text = await res.text();
    if (!res.ok) {
      let p: { title?: string; detail?: string } | undefined;
      try {
        p = JSON.parse(text) as typeof p;
      } catch {
        /* not a problem document: show the text */
      }
      throw new Error(`${res.status} ${p?.title ?? res.statusText}: ${(p?.detail ?? text).replace(/\s+/g, ' ').trim()}`);
    }
    return text;
  }
}
