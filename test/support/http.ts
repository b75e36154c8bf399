import { DEV_BOOTSTRAP_TOKEN } from '@eplb/platform';

export const OPERATOR = DEV_BOOTSTRAP_TOKEN;

export interface HttpResult<T = any> {
  status: number;
  contentType: string;
  body: T;
}

/** fetch with JSON in and out; never throws on 4xx/5xx, so tests assert on status and body. */
export async function http<T = any>(method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  // an event stream does not end by itself: its status and type are the answer, its body is left unread
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, contentType: 'text/event-stream', body: '' as T };
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: body as T };
}
