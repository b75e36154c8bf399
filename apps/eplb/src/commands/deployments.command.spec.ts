import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import { deploymentsCommand } from './deployments.command';

/** The real ApiClient over a fetch that answers from a table (`METHOD path`: body, or {status, body}) and records what was sent. */
function fakeApi(answers: Record<string, unknown>) {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const path = String(input).replace('http://api.test', '');
    sent.push({ method, path, ...(init?.body !== undefined ? { body: JSON.parse(String(init.body)) } : {}) });
    const a = answers[`${method} ${path}`] as { status?: number; body?: unknown } | undefined;
    if (a === undefined) return new Response(JSON.stringify({ type: 't', title: 'Not found', status: 404, detail: `${method} ${path}` }), { status: 404 });
    if (typeof a === 'object' && a !== null && 'status' in a && typeof a.status === 'number') return new Response(JSON.stringify(a.body), { status: a.status });
    return new Response(JSON.stringify(a), { status: 200 });
  }) as typeof fetch;
  return { api: new ApiClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchFn }), sent };
}

const RUN = '6f1c2d3e-aaaa-bbbb-cccc-000000000000';

describe('eplb deployments', () => {
  const out: string[] = [];
  const err: string[] = [];
  beforeEach(() => {
    out.length = 0;
    err.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  });
  afterEach(() => vi.restoreAllMocks());

  it('approve sends the reason; --deploy --force request the rollout too and print its id', async () => {
    const { api, sent } = fakeApi({
      [`POST /v1/deployments/d/runs/${RUN}/approve`]: { mapVersion: 9, rollout: { rolloutId: 'r9', status: 'REQUESTED' } },
      [`POST /v1/deployments/p/runs/${RUN}/approve`]: { mapVersion: 4 },
    });
    expect(await deploymentsCommand(['approve', 'p', RUN, '--reason', 'ok'], api)).toBe(0);
    expect(sent[0].body).toEqual({ reason: 'ok' });
    expect(out.pop()).toBe(`run ${RUN} approved: map version 4 (eplb rollout start p --to 4)\n`);
    expect(await deploymentsCommand(['approve', 'd', RUN, '--reason', 'reviewed', '--deploy', '--force'], api)).toBe(0);
    expect(sent[1].body).toEqual({ reason: 'reviewed', deploy: true, force: true });
    expect(out.pop()).toBe(`run ${RUN} approved: map version 9; rollout r9 requested: REQUESTED (eplb rollout status d r9)\n`);
    expect(await deploymentsCommand(['approve', 'd', RUN, '--reason', 'reviewed', '--deploy', '-o', 'json'], api)).toBe(0);
    expect(JSON.parse(out.pop()!)).toEqual({ mapVersion: 9, rollout: { rolloutId: 'r9', status: 'REQUESTED' } });
    await expect(deploymentsCommand(['approve', 'd', RUN, '--reason', 'x', '--force'], api)).rejects.toThrow(UsageError);
  });

  it('approve --deploy refused for nodes without a live agent says which, then fails as the API did', async () => {
    const { api } = fakeApi({
      [`POST /v1/deployments/d/runs/${RUN}/approve`]: { status: 409, body: { type: 'c', title: 'Conflict', status: 409, detail: 'no live agent on node 1 of d', nodes: [1] } },
      'GET /v1/deployments/d/agents': { deployment: 'd', staleAfterMs: 15000, agents: [{ node: 0, status: 'connected', ranks: [0, 1], lastSeen: null, ageMs: 100, principal: 'a', heldVersions: null }, { node: 1, status: 'missing', ranks: [2, 3], lastSeen: null, ageMs: null, principal: null, heldVersions: null }] },
    });
    await expect(deploymentsCommand(['approve', 'd', RUN, '--reason', 'x', '--deploy'], api)).rejects.toThrow('409 Conflict: no live agent on node 1 of d');
    expect(err.join('')).toBe(['nodes without a live agent: 1', '  NODE  AGENT    RANKS  LAST HEARD', '  1     missing  2-3    never', 'start their agents (eplb rollout agents d), or repeat with --force to queue the rollout anyway', ''].join('\n'));
  });

  it('settings change the rollout settings (steps with gates, on failure, bytes/s or none, automatic cap) and show them', async () => {
    const settings = {
      policy: 'default', cadenceSeconds: 10, threshold: 1.05, minGain: 0.01, maxTransfers: null, phase: 'decode', mode: 'auto', expertBytes: 1024,
      rolloutSteps: [{ layers: 1, analysis: true }, 'rest'], rolloutOnFailure: 'hold', rolloutBytesPerSecond: null, maxAutoRolloutsPerHour: 2, settingsVersion: 5, modeSince: '2026-12-06T10:00:00.000Z',
    };
    const { api, sent } = fakeApi({ 'PATCH /v1/deployments/d/settings': settings, 'GET /v1/deployments/d/settings': { ...settings, rolloutBytesPerSecond: 3000000, maxAutoRolloutsPerHour: 0 } });
    expect(await deploymentsCommand(['settings', 'd', '--rollout-steps', '1:gate,4,rest', '--rollout-on-failure', 'hold', '--rollout-bytes-per-second', 'none', '--max-auto-rollouts-per-hour', '2'], api)).toBe(0);
    expect(sent[0].body).toEqual({ rolloutSteps: [{ layers: 1, analysis: true }, 4, 'rest'], rolloutOnFailure: 'hold', rolloutBytesPerSecond: null, maxAutoRolloutsPerHour: 2 });
    expect(out.pop()).toContain("\nrollouts    steps 1:gate,rest   on failure hold   bytes/s the agents' own   automatic at most 2 per hour\n");
    expect(await deploymentsCommand(['settings', 'd'], api)).toBe(0);
    expect(sent[1].method).toBe('GET');
    expect(out.pop()).toMatch(/^policy      default \(mode auto since 2026-12-06 10:00:00Z, phase decode\)\n[\s\S]*rollouts    steps 1:gate,rest   on failure hold   bytes\/s 3000000   automatic off \(0 per hour\)\nversion     5\n$/);
    await deploymentsCommand(['settings', 'd', '--rollout-bytes-per-second', '5000', '--rollout-steps', 'rest:gate'], api);
    expect(sent[2].body).toEqual({ rolloutSteps: [{ layers: 'rest', analysis: true }], rolloutBytesPerSecond: 5000 });
    await expect(deploymentsCommand(['settings', 'd', '--rollout-steps', '1:check'], api)).rejects.toThrow('--rollout-steps: "1:check"');
    await expect(deploymentsCommand(['settings', 'd', '--rollout-on-failure', 'retry'], api)).rejects.toThrow('--rollout-on-failure must be rollback or hold');
    await expect(deploymentsCommand(['settings', 'd', '--max-auto-rollouts-per-hour', '-1'], api)).rejects.toThrow(UsageError);
    await expect(deploymentsCommand(['settings', 'd', '--rollout-bytes-per-second', '0'], api)).rejects.toThrow('--rollout-bytes-per-second must be an integer ≥ 1');
  });

  it("loop shows the mode and the loop's last decision and why", async () => {
    const { api } = fakeApi({
      'GET /v1/deployments/d/loop': { deployment: 'd', mode: 'auto', modeSince: '2026-12-06T10:00:00.000Z', maxAutoRolloutsPerHour: 6, lastDecision: { kind: 'wait', reason: 'cool-down: rollout r1 not yet measured', at: '2026-12-06T10:42:03.000Z' } },
      'GET /v1/deployments/o/loop': { deployment: 'o', mode: 'observe', modeSince: '2026-12-06T10:00:00.000Z', maxAutoRolloutsPerHour: 0, lastDecision: null },
    });
    expect(await deploymentsCommand(['loop', 'd'], api)).toBe(0);
    expect(out.pop()).toBe('mode        auto since 2026-12-06 10:00:00Z   automatic rollouts at most 6 per hour\ndecision    wait at 2026-12-06 10:42:03Z: cool-down: rollout r1 not yet measured\n');
    expect(await deploymentsCommand(['loop', 'o'], api)).toBe(0);
    expect(out.pop()).toBe('mode        observe since 2026-12-06 10:00:00Z   automatic rollouts off (0 per hour)\ndecision    none yet (observe mode: the loop deploys nothing)\n');
    expect(await deploymentsCommand(['loop', 'd', '-o', 'json'], api)).toBe(0);
    expect(JSON.parse(out.pop()!)).toMatchObject({ mode: 'auto', lastDecision: { kind: 'wait' } });
  });
});
