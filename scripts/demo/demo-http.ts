/** JSON over HTTP for the launcher's demo (never throws on a status: callers decide). */
export interface Reply<T = any> {
  readonly status: number;
  readonly body: T;
}

export async function call<T = any>(method: string, url: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: the text */
  }
  return { status: res.status, body: parsed as T };
}

/** The problem's detail (RFC 9457) or the body, for messages. */
export const detailOf = (r: Reply): string => (typeof r.body === 'object' && r.body && 'detail' in r.body ? String(r.body.detail) : JSON.stringify(r.body));
