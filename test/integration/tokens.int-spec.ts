import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { tokensCommand } from '../../apps/eplb/src/commands/tokens.command';
import { eventually, RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { captureCliOutput, operatorCliClient } from '../support/cli';

/**
 * Token lifecycle through the API and `eplb tokens`: agent tokens only for one node, expiry,
 * listing without secrets, revocation (refused at once), problem+json on bad input.
 */
describe('tokens: issue, expire, list, revoke (API and CLI)', () => {
  const config = testConfig();
  let api: RunningApp;
  let client: ApiClient;
  let out: string[] = [];
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    api = await startApi(config);
    client = operatorCliClient(api.url);
    out = captureCliOutput();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await api?.close();
  });

  const issue = (body: unknown, token = OPERATOR) => http('POST', `${api.url}/v1/tokens`, { token, body });
  const works = async (token: string) => (await http('GET', `${api.url}/v1/deployments`, { token })).status;

  it('refuses an agent token not scoped to one node, and an expiry in the past, as problem+json', async () => {
    for (const scope of [undefined, { deployment: 'd' }]) {
      const r = await issue({ name: `${tag}-agent`, role: 'agent', ...(scope ? { scope } : {}) });
      expect(r.status).toBe(400);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      expect(r.body.errors).toEqual([{ field: 'body.scope', message: 'agent tokens must be scoped to a deployment and one node of it' }]);
    }
    const past = await issue({ name: `${tag}-old`, role: 'analyst', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.errors).toEqual([{ field: 'body.expiresAt', message: 'must be in the future' }]);
  });

  it('an expiring token works until it expires, then is refused; the list shows it expired', async () => {
    const r = await issue({ name: `${tag}-short`, role: 'analyst', expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect(r.status).toBe(201);
    expect(r.body.expiresAt).not.toBeNull();
    expect(await works(r.body.token)).toBe(200);
    await eventually(async () => (await works(r.body.token)) === 401, 20_000, 100);
    const list = await http('GET', `${api.url}/v1/tokens`, { token: OPERATOR });
    expect(list.body.tokens.find((t: { id: string }) => t.id === r.body.id)).toMatchObject({ name: `${tag}-short`, role: 'analyst', status: 'expired' });
  });

  it('lists tokens without their secrets (operators only) and revokes one: refused at once; unknown ids are 404, bad ids 400', async () => {
    const agent = await issue({ name: `${tag}-node-1`, role: 'agent', scope: { deployment: 'dsv3-a', node: 1 } });
    expect(agent.status).toBe(201);
    const analyst = await issue({ name: `${tag}-analyst`, role: 'analyst' });
    expect(await works(analyst.body.token)).toBe(200);
    const list = await http('GET', `${api.url}/v1/tokens`, { token: OPERATOR });
    expect(list.status).toBe(200);
    const listed = list.body.tokens.find((t: { id: string }) => t.id === agent.body.id);
    expect(listed).toMatchObject({ name: `${tag}-node-1`, role: 'agent', scope: { deployment: 'dsv3-a', node: 1 }, status: 'active', expiresAt: null, revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(agent.body.token);
    expect(Object.keys(listed).sort()).toEqual(['createdAt', 'createdBy', 'expiresAt', 'id', 'name', 'revokedAt', 'role', 'scope', 'status']);
    expect((await http('GET', `${api.url}/v1/tokens`, { token: analyst.body.token })).status).toBe(403);
    expect((await http('GET', `${api.url}/v1/tokens`)).status).toBe(401);

    const revoked = await http('POST', `${api.url}/v1/tokens/${analyst.body.id}/revoke`, { token: OPERATOR, body: { reason: 'left the team' } });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: analyst.body.id, status: 'revoked' });
    expect(await works(analyst.body.token)).toBe(401);
    // a second revocation keeps the first
    expect((await http('POST', `${api.url}/v1/tokens/${analyst.body.id}/revoke`, { token: OPERATOR, body: {} })).body.revokedAt).toBe(revoked.body.revokedAt);
    const unknown = await http('POST', `${api.url}/v1/tokens/${randomUUID()}/revoke`, { token: OPERATOR, body: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/problem\+json/);
    const bad = await http('POST', `${api.url}/v1/tokens/not-a-uuid/revoke`, { token: OPERATOR, body: {} });
    expect(bad.status).toBe(400);
    expect(bad.contentType).toMatch(/^application\/problem\+json/);
  });

  it('eplb tokens list | revoke: a table (or -o json), the revocation, exit 3 for an unknown id', async () => {
    const issued = await client.issueToken({ name: `${tag}-cli`, role: 'agent', scope: { deployment: 'dsv3-a', node: 2 } });
    out.length = 0;
    expect(await tokensCommand(['list'], client)).toBe(0);
    const lines = out.join('').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+ROLE\s+SCOPE\s+STATUS\s+EXPIRES\s+CREATED\s+BY$/);
    expect(lines.find((l) => l.startsWith(issued.id))).toMatch(new RegExp(`^${issued.id}\\s+${tag}-cli\\s+agent\\s+dsv3-a/2\\s+active\\s+-\\s+`));
    out.length = 0;
    expect(await tokensCommand(['revoke', issued.id, '--reason', 'node 2 decommissioned', '-o', 'json'], client)).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ id: issued.id, status: 'revoked' });
    expect(await works(issued.token)).toBe(401);
    await expect(tokensCommand(['revoke', randomUUID()], client)).rejects.toMatchObject({ status: 404 });
    await expect(tokensCommand(['issue', 'x', '--role', 'agent', '--deployment', 'd'], client)).rejects.toThrow('agent tokens need --deployment ID --node N');
  });
});
