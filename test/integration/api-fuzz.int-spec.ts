import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { GeneratedRequest, Operation, operationsOf, requestsFor, seedOf } from '../support/openapi-fuzz';

type Caller = 'none' | 'operator' | 'analyst' | 'agent';
const CALLERS: readonly Caller[] = ['none', 'operator', 'analyst', 'agent'];
const ROLES = ['operator', 'analyst', 'agent'] as const;

/**
 * Who may call what: every route of the API and the roles it admits ('public': no token needed).
 * The one table the role matrix is asserted from. A route the OpenAPI document lists and this
 * table does not fails the first test until someone says here who may call it. Agent tokens are
 * scoped to one node of one deployment: they reach only that deployment's routes.
 */
/** Routes naming no deployment that a scoped (agent) token may still call: who the token is. */
const ANY_SCOPE = new Set(['GET /v1/me']);

const MAY: Record<string, 'public' | readonly (typeof ROLES)[number][]> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'POST /v1/tokens': ['operator'],
  'GET /v1/tokens': ['operator'],
  'POST /v1/tokens/{tid}/revoke': ['operator'],
  'GET /v1/me': ['operator', 'analyst', 'agent'],
  'POST /v1/deployments': ['operator'],
  'GET /v1/deployments': ['operator', 'analyst'],
  'GET /v1/deployments/{id}': ['operator', 'analyst', 'agent'],
  'GET /v1/deployments/{id}/heat/episodes': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/heat/heatmap': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/heat/top': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/heat/imbalance': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/heat/export.csv': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/heat/export/heat-file': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/settings': ['operator', 'analyst'],
  'PATCH /v1/deployments/{id}/settings': ['operator'],
  'GET /v1/deployments/{id}/runs': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/runs/{runId}': ['operator', 'analyst'],
  'POST /v1/deployments/{id}/runs/{runId}/approve': ['operator'],
  'POST /v1/deployments/{id}/runs/{runId}/reject': ['operator'],
  'POST /v1/deployments/{id}/what-if': ['operator', 'analyst'],
  'POST /v1/deployments/{id}/rollouts': ['operator'],
  'GET /v1/deployments/{id}/rollouts': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/rollouts/{rid}': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/rollouts/{rid}/timeline': ['operator', 'analyst'],
  'POST /v1/deployments/{id}/rollouts/{rid}/{action}': ['operator'],
  'GET /v1/deployments/{id}/rebalancing': ['operator', 'analyst', 'agent'],
  'GET /v1/deployments/{id}/agents': ['operator', 'analyst', 'agent'],
  'POST /v1/deployments/{id}/agents/{node}/keys': ['operator'],
  'GET /v1/deployments/{id}/maps': ['operator', 'analyst'],
  'POST /v1/deployments/{id}/maps': ['operator'],
  'GET /v1/deployments/{id}/maps/{version}': ['operator', 'analyst', 'agent'],
  'GET /v1/deployments/{id}/maps/{version}/diff': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/loop': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/events': ['operator', 'analyst'],
  'GET /v1/deployments/{id}/live': ['operator', 'analyst'],
};

/** Generated requests per route: more where a caller gets past authorisation (the use cases run), a few where it must not. */
const CASES_ADMITTED = 16;
const CASES_REFUSED = 3;
const SEED = 20261206;

/**
 * The API fuzzed from its OpenAPI document (every route it lists, each role and no token): never
 * a 5xx, every 4xx a problem+json, and the role matrix exactly as MAY says.
 */
describe('API fuzz from the OpenAPI document', () => {
  const fixture = `fuzz-api-${randomUUID().slice(0, 8)}`;
  let api: RunningApp;
  let operations: Operation[];
  const tokens: Record<Caller, string | undefined> = { none: undefined, operator: OPERATOR, analyst: undefined, agent: undefined };

  beforeAll(async () => {
    api = await startApi(testConfig());
    const doc = await http('GET', `${api.url}/docs-json`);
    expect(doc.status).toBe(200);
    operations = operationsOf(doc.body);
    const created = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: fixture, shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 } } });
    expect(created.status).toBe(201);
    const analyst = await http('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: `${fixture}-analyst`, role: 'analyst' } });
    const agent = await http('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: `${fixture}-agent`, role: 'agent', scope: { deployment: fixture, node: 0 } } });
    expect([analyst.status, agent.status]).toEqual([201, 201]);
    tokens.analyst = analyst.body.token;
    tokens.agent = agent.body.token;
  });
  afterAll(() => api?.close());

  /** Path values that exist, so a share of the requests reach past "not found". */
  const known = () => ({
    id: fc.constant(fixture),
    version: fc.constantFrom('1', '2'),
    runId: fc.uuid(),
    rid: fc.uuid(),
  });

  const send = (op: Operation, caller: Caller, req: GeneratedRequest) => {
    const url = `${api.url}${req.path}${req.query ? `?${req.query}` : ''}`;
    const body = req.body === null ? undefined : 'raw' in req.body ? req.body.raw : JSON.stringify(req.body.json);
    return http(op.method, url, { token: tokens[caller], body, ...(body !== undefined ? { headers: { 'content-type': 'application/json' } } : {}) });
  };

  /** What the table says `caller` gets on `op` with the fixture's ids: through, 401 or 403. */
  const expected = (op: Operation, caller: Caller): 'through' | 401 | 403 => {
    const may = MAY[op.key];
    if (may === 'public') return 'through';
    if (caller === 'none') return 401;
    if (!may.includes(caller)) return 403;
    // scoped agent tokens reach only routes of their deployment, and the few that name no deployment for any scope
    if (caller === 'agent' && !op.path.includes('{id}') && !ANY_SCOPE.has(op.key)) return 403;
    return 'through';
  };

  it('has a row in the role table for every route the document lists, and no other', () => {
    const listed = operations.map((o) => o.key).sort();
    expect(listed.filter((k) => !(k in MAY)), 'routes without a row in MAY').toEqual([]);
    expect(Object.keys(MAY).filter((k) => !listed.includes(k)), 'rows in MAY for routes the document does not list').toEqual([]);
    for (const op of operations) expect(op.secured, `${op.key}: the document's security against MAY`).toBe(MAY[op.key] !== 'public');
  });

  it('admits exactly the roles the table names, on every route', async () => {
    const failures: string[] = [];
    for (const op of operations) {
      const path = op.parameters.filter((p) => p.in === 'path').reduce((acc, p) => acc.replace(`{${p.name}}`, p.name === 'id' ? fixture : p.name === 'action' ? 'pause' : p.name === 'version' ? '1' : randomUUID()), op.path);
      for (const caller of CALLERS) {
        const r = await send(op, caller, { path, query: '', body: op.body === null ? null : { json: {} } });
        const want = expected(op, caller);
        const got = r.status === 401 || r.status === 403 ? r.status : 'through';
        if (got !== want) failures.push(`${op.key} as ${caller}: ${r.status} (expected ${want}) ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('never answers 5xx, answers every 4xx with problem+json, and refuses whom the table refuses', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const op of operations) {
      for (const caller of CALLERS) {
        const want = expected(op, caller);
        const cases = fc.sample(requestsFor(op, known()), { seed: seedOf(`${op.key} ${caller}`, SEED), numRuns: want === 'through' ? CASES_ADMITTED : CASES_REFUSED });
        for (const req of cases) {
          const r = await send(op, caller, req);
          sent++;
          const what = `${op.method} ${req.path}?${req.query} as ${caller} ${req.body ? JSON.stringify(req.body).slice(0, 300) : ''} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
          if (r.status >= 500) failures.push(`5xx: ${what}`);
          if (r.status >= 400 && !(r.contentType.includes('application/problem+json') && r.body?.status === r.status && typeof r.body?.title === 'string')) failures.push(`not problem+json: ${what}`);
          // refusals do not depend on the request's content — except a body that is not a JSON
          // object or array, which the parser refuses (400) before the route's roles are known;
          // an agent's scope may refuse any other deployment's id
          const unparsable = req.body !== null && ('raw' in req.body || typeof req.body.json !== 'object' || req.body.json === null);
          if (want !== 'through' && r.status !== want && !(want === 403 && unparsable && r.status === 400)) failures.push(`expected ${want}: ${what}`);
          if (want === 'through' && (r.status === 401 || (r.status === 403 && !(caller === 'agent' && req.path.split('/')[3] !== fixture)))) failures.push(`refused: ${what}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(operations.length * 10);
  });
});
