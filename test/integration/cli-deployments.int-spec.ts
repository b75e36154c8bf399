import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { deploymentsCommand } from '../../apps/eplb/src/commands/deployments.command';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { OPERATOR } from '../support/http';

/** `eplb deployments …` against the real API: register, change settings, list runs (tables, -o json); errors are one line. */
describe('eplb deployments (CLI over the API)', () => {
  let api: RunningApp;
  let client: ApiClient;
  const out: string[] = [];

  beforeAll(async () => {
    api = await startApi(testConfig());
    client = new ApiClient({ baseUrl: api.url, token: OPERATOR, reason: 'eplb CLI' });
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await api?.close();
  });

  it('creates, changes settings, shows and lists', async () => {
    const id = `cli-${randomUUID().slice(0, 8)}`;
    const file = join(mkdtempSync(join(tmpdir(), 'eplb-cli-')), 'd.json');
    writeFileSync(file, JSON.stringify({ id, shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 } }));
    expect(await deploymentsCommand(['create', '--file', file, '-o', 'json'], client)).toBe(0);
    expect(JSON.parse(out.pop()!)).toMatchObject({ id, mapVersion: 1, settings: { mode: 'observe', policy: 'default' } });
    expect(await deploymentsCommand(['settings', id, '--mode', 'approve', '--cadence', '60', '--max-transfers', '12', '--json'], client)).toBe(0);
    expect(JSON.parse(out.pop()!)).toMatchObject({ mode: 'approve', cadenceSeconds: 60, maxTransfers: 12, settingsVersion: 2 });
    expect(await deploymentsCommand(['runs', id, '--json'], client)).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({ items: [] });
    expect(await deploymentsCommand(['runs', id], client)).toBe(0);
    expect(out.pop()).toMatch(/^RUN\s+CREATED\s+STATUS\s+POLICY/);
    expect(await deploymentsCommand(['list', '-o', 'json', '--limit', '500'], client)).toBe(0);
    expect(JSON.parse(out.pop()!).items.map((d: { id: string }) => d.id)).toContain(id);
    expect(await deploymentsCommand(['list', '--limit', '500'], client)).toBe(0);
    expect(out.pop()).toMatch(new RegExp(`^ID\\s+SHAPE\\s+MAP\\s+POLICY\\s+MODE\\s+CADENCE\\s+CREATED\\n(.*\\n)*${id}\\s+2×4 on 2×3 \\(1 node\\)\\s+1\\s+default\\s+approve\\s+60 s`));
    expect(await deploymentsCommand(['show', id], client)).toBe(0);
    expect(out.pop()).toMatch(new RegExp(`^deployment  ${id} .*\\nshape       2×4 on 2×3`));
  });

  it('turns problem+json into one line naming what is wrong', async () => {
    await expect(deploymentsCommand(['settings', 'nope-missing', '--mode', 'auto'], client)).rejects.toThrow('404 Not found: deployment nope-missing does not exist');
    await expect(deploymentsCommand(['settings', 'x', '--mode', 'sometimes'], client)).rejects.toThrow(/^400 Invalid request: body.mode: /);
  });
});
