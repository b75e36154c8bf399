import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';

/** Authentication, roles, validation and docs: what every later endpoint relies on. */
describe('API edge: tokens, roles, problem+json, OpenAPI', () => {
  let api: RunningApp;
  let analyst: string;
  const id = `edge-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    api = await startApi(testConfig());
    const issued = await http('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: 'analyst-test', role: 'analyst' } });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^eplb_[A-Za-z0-9_-]{43}$/);
    analyst = issued.body.token;
  });
  afterAll(() => api?.close());

  it('answers 401 problem+json without a token or with an unknown one', async () => {
    for (const token of [undefined, 'eplb_not-a-real-token']) {
      const r = await http('GET', `${api.url}/v1/deployments`, { token });
      expect(r.status).toBe(401);
      expect(r.contentType).toContain('application/problem+json');
      expect(r.body).toMatchObject({ type: 'https://eplb.dev/problems/unauthenticated', title: 'Unauthenticated', status: 401, instance: '/v1/deployments' });
    }
  });

  it('answers 403 when the role may not act, and lets it read what it may', async () => {
    const denied = await http('POST', `${api.url}/v1/deployments`, {
      token: analyst,
      body: { id, shape: { layers: 1, experts: 2, ranks: 2, slotsPerRank: 1, nodes: 1 } },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toBe('role analyst may not do this; needs one of: operator');
    expect((await http('GET', `${api.url}/v1/deployments`, { token: analyst })).status).toBe(200);
  });

  it('answers malformed JSON with 400 and an oversized body with 413, as problem+json', async () => {
    const bad = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: '{"id": "x", ' });
    expect(bad.status).toBe(400);
    expect(bad.contentType).toContain('application/problem+json');
    expect(bad.body).toMatchObject({ title: 'Bad Request', status: 400 });
    expect(bad.body.detail).toMatch(/JSON/);
    const huge = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: JSON.stringify({ id: 'x', pad: 'x'.repeat(17 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(huge.contentType).toContain('application/problem+json');
    expect(huge.body).toMatchObject({ title: 'Payload too large', status: 413 });
  });

  it('refuses a body without a valid token before reading it', async () => {
    // 16 MB announced, 10 bytes sent: the answer can only come before the body is read
    const { port } = new URL(api.url);
    for (const auth of ['', 'authorization: Bearer eplb_not-a-real-token\r\n']) {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let text = '';
        socket.on('data', (d) => {
          text += d.toString();
          if (text.includes('\r\n\r\n') && text.includes('}')) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.on('error', reject);
        socket.write(`POST /v1/deployments HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/json\r\ncontent-length: 16000000\r\n\r\n{"id": "x"`);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 401 /);
      expect(reply).toContain('application/problem+json');
    }
  });

  it('takes small bodies only, except where map files are posted', async () => {
    const settings = await http('PATCH', `${api.url}/v1/deployments/${id}/settings`, { token: OPERATOR, body: { policy: 'x'.repeat(1024 * 1024) } });
    expect(settings.status).toBe(413);
    expect(settings.contentType).toContain('application/problem+json');
    // a 1 MB map file still reaches the deployment's validation
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: `big-${id}`, shape: { layers: 1, experts: 2, ranks: 2, slotsPerRank: 1, nodes: 1 }, initialMap: { format: 'eplb', document: { pad: 'x'.repeat(1024 * 1024) } } },
    });
    expect(created.status).toBe(400);
  });

  it('refuses a shape whose dimensions are each in range but multiply to 10⁹ slots, naming the cap', async () => {
    const r = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id, shape: { layers: 1024, experts: 1024, ranks: 4096, slotsPerRank: 1024, nodes: 1 } } });
    expect(r.status).toBe(400);
    expect(r.contentType).toContain('application/problem+json');
    expect(r.body.errors).toEqual([{ field: 'body.shape', message: 'layers × ranks × slotsPerRank = 4294967296 physical slots, more than the 4194304 a deployment may have' }]);
  });

  it('answers 400 problem+json naming every invalid field', async () => {
    const r = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: 'Bad Id', shape: { layers: 0, experts: 4, ranks: 2, slotsPerRank: 1, nodes: 1 }, extra: true },
    });
    expect(r.status).toBe(400);
    expect(r.contentType).toContain('application/problem+json');
    const fields = (r.body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['body', 'body.id', 'body.shape.layers']);
  });

  it('rejects a shape whose slots cannot hold every expert, and a map that breaks the replica rule', async () => {
    const tooSmall = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id, shape: { layers: 1, experts: 8, ranks: 2, slotsPerRank: 3, nodes: 1 } } });
    expect(tooSmall.status).toBe(400);
    expect(tooSmall.body.detail).toBe('slotsPerRank: 6 physical slots cannot hold 8 logical experts');
    const badMap = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id, shape: { layers: 1, experts: 3, ranks: 2, slotsPerRank: 2, nodes: 1 }, initialMap: [[0, 1, 1, 0]] },
    });
    expect(badMap.status).toBe(400);
    expect(badMap.body.detail).toBe('initialMap[0]: logical expert 2 has no replica (1 experts missing)');
  });

  it('creates a deployment once (201), then 409 problem+json', async () => {
    const body = { id, shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 } };
    const first = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id, mapVersion: 1, shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1, groups: null } });
    const again = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://eplb.dev/problems/conflict');
    const missing = await http('GET', `${api.url}/v1/deployments/nope-${id}`, { token: analyst });
    expect(missing.status).toBe(404);
  });

  it('serves the OpenAPI document at /docs', async () => {
    const doc = await http('GET', `${api.url}/docs-json`);
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/deployments', '/v1/tokens', '/v1/deployments/{id}/heat/episodes', '/v1/deployments/{id}/heat/heatmap', '/v1/deployments/{id}/heat/export.csv', '/healthz', '/readyz']));
    expect((await fetch(`${api.url}/docs`)).status).toBe(200);
  });

  it('exposes Prometheus metrics and liveness without a token', async () => {
    expect((await http('GET', `${api.url}/healthz`)).body).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toContain('eplb_http_request_duration_seconds_bucket');
    expect(metrics).toContain('eplb_process_resident_memory_bytes');
  });
});
