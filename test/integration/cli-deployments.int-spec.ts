import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { deploymentsCommand } from '../../apps/eplb/src/commands/deployments.command';
import { eventsCommand } from '../../apps/eplb/src/commands/events.command';
import { RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { OPERATOR } from '../support/http';
import { captureCliOutput, operatorCliClient } from '../support/cli';

/** `eplb deployments …` against the real API: register, change settings, list runs (tables, -o json); errors are one line. */
describe('eplb deployments (CLI over the API)', () => {
  let api: RunningApp;
  let client: ApiClient;
  let out: string[] = [];

  beforeAll(async () => {
    api = await startApi(testConfig());
    client = operatorCliClient(api.url);
    out = captureCliOutput();
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

  it('rollout settings, the loop and the audit log (eplb events) through the API', async () => {
    const id = `cli-ev-${randomUUID().slice(0, 8)}`;
    const file = join(mkdtempSync(join(tmpdir(), 'eplb-cli-')), 'd.json');
    writeFileSync(file, JSON.stringify({ id, shape: { layers: 2, experts: 4, ranks: 2, slotsPerRank: 3, nodes: 1 } }));
    expect(await deploymentsCommand(['create', '--file', file], client)).toBe(0);
    expect(await deploymentsCommand(['settings', id, '--rollout-steps', '1:gate,rest', '--rollout-on-failure', 'hold', '--rollout-bytes-per-second', '3000000', '--max-auto-rollouts-per-hour', '2', '--json'], client)).toBe(0);
    expect(JSON.parse(out.pop()!)).toMatchObject({ rolloutSteps: [{ layers: 1, analysis: true }, 'rest'], rolloutOnFailure: 'hold', rolloutBytesPerSecond: 3000000, maxAutoRolloutsPerHour: 2 });
    expect(await deploymentsCommand(['settings', id, '--mode', 'approve', '--rollout-bytes-per-second', 'none'], client)).toBe(0);
    expect(out.pop()).toContain("rollouts    steps 1:gate,rest   on failure hold   bytes/s the agents' own   automatic at most 2 per hour");
    expect(await deploymentsCommand(['loop', id], client)).toBe(0);
    expect(out.pop()).toMatch(/^mode {8}approve since .*automatic rollouts at most 2 per hour\ndecision {4}/);

    const lines: string[] = [];
    const write = (t: string) => lines.push(...t.trimEnd().split('\n'));
    expect(await eventsCommand([id], client, { write })).toBe(0);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}deployment.settings-updated {2}operator:\S+ +mode → approve, rolloutBytesPerSecond → none {2}\[.+\] {2}eplb CLI$/);
    expect(lines.some((l) => /map-version.created .* v1 on -, initial/.test(l))).toBe(true);
    lines.length = 0;
    expect(await eventsCommand([id, '--type', 'deployment.settings-updated', '--limit', '1', '-o', 'json'], client, { write })).toBe(0);
    const page = JSON.parse(lines.join('\n')) as { items: { type: string; payload: Record<string, unknown> }[] };
    expect(page.items).toHaveLength(1);
    expect(page.items[0].payload).toMatchObject({ mode: 'approve', rolloutBytesPerSecond: null });

    // --follow: what is recorded after it started comes out, oldest first; stopped, it exits 0
    lines.length = 0;
    const ac = new AbortController();
    const following = eventsCommand([id, '--follow', '--type', 'deployment.settings-updated'], client, { write, signal: ac.signal, pollMs: 100 });
    await new Promise((r) => setTimeout(r, 300));
    const before = lines.length;
    expect(await deploymentsCommand(['settings', id, '--cadence', '120'], client)).toBe(0);
    for (let i = 0; i < 50 && lines.length === before; i++) await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    expect(await following).toBe(0);
    expect(before).toBe(2);
    expect(lines.at(-1)).toMatch(/deployment.settings-updated .* cadenceSeconds → 120 /);
    await expect(eventsCommand(['nope-missing'], client)).rejects.toThrow('404 Not found: deployment nope-missing does not exist');
  });

  it('turns problem+json into one line naming what is wrong', async () => {
    await expect(deploymentsCommand(['settings', 'nope-missing', '--mode', 'auto'], client)).rejects.toThrow('404 Not found: deployment nope-missing does not exist');
    await expect(deploymentsCommand(['settings', 'x', '--mode', 'sometimes'], client)).rejects.toThrow(/^400 Invalid request: body.mode: /);
  });
});
