import { describe, expect, it } from 'vitest';
import { ApiClient } from './api-client';
import { ApiProblem, ApiUnreachable } from './api-problem';

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that answers from a table keyed by `METHOD path?query` and records each request. */
function fakeFetch(answers: Record<string, { status?: number; statusText?: string; body: unknown; type?: string }>) {
  const sent: Sent[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    sent.push({ url, method, headers: init?.headers as Record<string, string>, body: init?.body === undefined ? undefined : JSON.parse(String(init.body)) });
    const key = `${method} ${url.replace('http://api.test', '')}`;
    const a = answers[key];
    if (!a) return new Response(JSON.stringify({ type: 'x', title: 'Not found', status: 404, detail: `Cannot ${key}` }), { status: 404, headers: { 'content-type': 'application/problem+json' } });
    const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    return new Response(text, { status: a.status ?? 200, statusText: a.statusText ?? '', headers: { 'content-type': a.type ?? 'application/json' } });
  }) as typeof fetch;
  return { fn, sent };
}

const client = (fn: typeof fetch, reason?: string) => new ApiClient({ baseUrl: 'http://api.test/', token: 'tok', fetch: fn, ...(reason ? { reason } : {}) });

describe('ApiClient', () => {
  it('sends the bearer token, the reason header and JSON bodies; reads typed JSON', async () => {
    const { fn, sent } = fakeFetch({ 'POST /v1/deployments/d%2F1/rollouts': { status: 202, body: { rolloutId: 'r', status: 'REQUESTED' } } });
    const r = await client(fn, 'eplb CLI').startRollout('d/1', { mapVersion: 2, steps: [1, 'rest'], reason: 'why' });
    expect(r).toEqual({ rolloutId: 'r', status: 'REQUESTED' });
    expect(sent[0].url).toBe('http://api.test/v1/deployments/d%2F1/rollouts');
    expect(sent[0].headers).toMatchObject({ authorization: 'Bearer tok', 'content-type': 'application/json', 'x-eplb-reason': 'eplb CLI' });
    expect(sent[0].body).toEqual({ mapVersion: 2, steps: [1, 'rest'], reason: 'why' });
  });

  it('reads who the token is and the heat the console draws', async () => {
    const { fn, sent } = fakeFetch({
      'GET /v1/me': { body: { name: 'ana', role: 'analyst', scope: null } },
      'GET /v1/deployments/d/heat/heatmap?phase=decode&from=2026-01-01T00%3A00%3A00Z': { body: { counts: [[1]] } },
      'GET /v1/deployments/d/heat/top?phase=decode&k=3': { body: { resolution: 'episode', items: [] } },
      'GET /v1/deployments/d/heat/imbalance?resolution=minute': { body: { resolution: 'minute', buckets: [], note: '' } },
    });
    const api = client(fn);
    expect(await api.me()).toEqual({ name: 'ana', role: 'analyst', scope: null });
    expect((await api.heatmap('d', { phase: 'decode', from: '2026-01-01T00:00:00Z' })).counts).toEqual([[1]]);
    expect((await api.topExperts('d', { phase: 'decode', k: 3 })).items).toEqual([]);
    expect((await api.imbalanceTrend('d', { resolution: 'minute' })).resolution).toBe('minute');
    expect(sent.map((s) => s.method)).toEqual(['GET', 'GET', 'GET', 'GET']);
  });

  it('puts defined query parameters in the URL and leaves the rest out', async () => {
    const { fn, sent } = fakeFetch({
      'GET /v1/deployments/d/runs?status=proposed': { body: { items: [] } },
      'GET /v1/deployments/d/maps/3/diff': { body: { version: 3 } },
      'GET /v1/deployments/d/maps/3?format=trtllm&firstMoeLayer=3': { body: 'num_slots: 8\n', type: 'application/yaml' },
    });
    const api = client(fn);
    expect(await api.listRuns('d', { status: 'proposed', limit: undefined })).toEqual({ items: [] });
    await api.diffMapVersions('d', 3);
    expect(await api.exportMapVersion('d', 3, 'trtllm', 3)).toBe('num_slots: 8\n');
    expect(sent.map((s) => s.headers['content-type'])).toEqual([undefined, undefined, undefined]);
    expect(sent.map((s) => s.headers['x-eplb-reason'])).toEqual([undefined, undefined, undefined]);
  });

  it('turns a problem+json answer into an ApiProblem the caller can branch on', async () => {
    const { fn } = fakeFetch({
      'PATCH /v1/deployments/x/settings': {
        status: 400,
        type: 'application/problem+json',
        body: { type: 'https://eplb.dev/problems/validation', title: 'Invalid request', status: 400, detail: 'body.mode: Invalid option:\n expected one of', errors: [{ field: 'body.mode', message: 'Invalid option' }] },
      },
    });
    const err = await client(fn).updateSettings('x', { mode: 'auto' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiProblem);
    const p = err as ApiProblem;
    expect(p.message).toBe('400 Invalid request: body.mode: Invalid option: expected one of');
    expect([p.status, p.title, p.type, p.detail]).toEqual([400, 'Invalid request', 'https://eplb.dev/problems/validation', 'body.mode: Invalid option: expected one of']);
    expect(p.errors).toEqual([{ field: 'body.mode', message: 'Invalid option' }]);
    const missing = (await client(fn).getDeployment('nope').catch((e: unknown) => e)) as ApiProblem;
    expect([missing.status, missing.message]).toEqual([404, '404 Not found: Cannot GET /v1/deployments/nope']);
  });

  it("keeps a problem's extension members (the nodes a 409 names)", async () => {
    const { fn } = fakeFetch({
      'POST /v1/deployments/d/rollouts': { status: 409, type: 'application/problem+json', body: { type: 'c', title: 'Conflict', status: 409, detail: 'no live agent on nodes 0, 1 of d', nodes: [0, 1] } },
    });
    const p = (await client(fn).startRollout('d', { mapVersion: 2, reason: 'r' }).catch((e: unknown) => e)) as ApiProblem;
    expect(p.extensions).toEqual({ nodes: [0, 1] });
  });

  it('keeps the text of an error answer that is not problem+json', async () => {
    const { fn } = fakeFetch({ 'GET /v1/deployments': { status: 502, statusText: 'Bad Gateway', body: '<html>bad gateway</html>', type: 'text/html' } });
    const p = (await client(fn).listDeployments().catch((e: unknown) => e)) as ApiProblem;
    expect(p).toBeInstanceOf(ApiProblem);
    expect(p.message).toBe('502 Bad Gateway: <html>bad gateway</html>');
    expect(p.type).toBe('about:blank');
  });

  it('says the API is unreachable when fetch itself fails, with the cause', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const fn = (async () => {
      throw new TypeError('fetch failed', { cause: refused });
    }) as typeof fetch;
    const err = await client(fn).agents('d').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiUnreachable);
    expect((err as Error).message).toBe('API at http://api.test unreachable (fetch failed: ECONNREFUSED)');
  });

  it('has one method per endpoint the CLI and the simulator use', async () => {
    const routes: [string, (api: ApiClient) => Promise<unknown>][] = [
      ['GET /v1/deployments?limit=5&after=a', (a) => a.listDeployments({ limit: 5, after: 'a' })],
      ['POST /v1/deployments', (a) => a.createDeployment({ id: 'd', shape: { layers: 1, experts: 2, ranks: 1, slotsPerRank: 2, nodes: 1 } })],
      ['GET /v1/deployments/d/settings', (a) => a.getSettings('d')],
      ['GET /v1/deployments/d/runs/r', (a) => a.getRun('d', 'r')],
      ['POST /v1/deployments/d/runs/r/approve', (a) => a.approveRun('d', 'r', 'ok')],
      ['POST /v1/deployments/d/runs/r/reject', (a) => a.rejectRun('d', 'r', 'no')],
      ['POST /v1/deployments/d/what-if', (a) => a.whatIf('d', { policy: 'greedy' })],
      ['GET /v1/deployments/d/maps?limit=2', (a) => a.listMapVersions('d', { limit: 2 })],
      ['GET /v1/deployments/d/maps/2', (a) => a.getMapVersion('d', 2)],
      ['POST /v1/deployments/d/maps', (a) => a.importMapVersion('d', { format: 'eplb', document: '{}', reason: 'r' })],
      ['GET /v1/deployments/d/rollouts', (a) => a.listRollouts('d')],
      ['GET /v1/deployments/d/rollouts/r', (a) => a.getRollout('d', 'r')],
      ['POST /v1/deployments/d/rollouts/r/abort', (a) => a.controlRollout('d', 'r', 'abort', { reason: 'x', rollback: false })],
      ['GET /v1/deployments/d/agents', (a) => a.agents('d')],
      ['GET /v1/deployments/d/rebalancing', (a) => a.rebalancing('d')],
      ['GET /v1/deployments/d/loop', (a) => a.loopStatus('d')],
      ['GET /v1/deployments/d/events?exclude=rollout.ack%2Crollout.decided&correlation=interval%3Ad%3Adecode%3A4&limit=20', (a) => a.listEvents('d', { exclude: 'rollout.ack,rollout.decided', correlation: 'interval:d:decode:4', limit: 20 })],
      ['GET /v1/deployments/d/events?order=asc&cursor=41', (a) => a.listEvents('d', { order: 'asc', cursor: '41' })],
      ['POST /v1/tokens', (a) => a.issueToken({ name: 'n', role: 'agent', scope: { deployment: 'd', node: 1 } })],
      ['GET /v1/deployments/d/heat/episodes?loads=true', (a) => a.heatEpisodes('d', { loads: true })],
      ['GET /v1/deployments/d/heat/export/heat-file?phase=decode&episodes=8', (a) => a.heatFile('d', { phase: 'decode', episodes: 8 })],
    ];
    const { fn, sent } = fakeFetch(Object.fromEntries(routes.map(([k]) => [k, { body: { ok: k } }])));
    const api = client(fn);
    for (const [key, call] of routes) expect(await call(api), key).toEqual({ ok: key });
    expect(sent).toHaveLength(routes.length);
  });
});
