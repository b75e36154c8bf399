import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import { ConflictError, exitCodeOf, NotFoundError } from '../exit-codes';
import { parseSteps, rolloutCommand } from './rollout.command';

/** The real ApiClient over a fetch that answers from a table (`METHOD path`) and records what was sent. */
function fakeApi(answers: Record<string, unknown>) {
  const sent: { method: string; path: string; body?: unknown }[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const path = String(input).replace('http://api.test', '');
    sent.push({ method, path, ...(init?.body !== undefined ? { body: JSON.parse(String(init.body)) } : {}) });
    const a = answers[`${method} ${path}`];
    if (a === undefined) return new Response(JSON.stringify({ type: 't', title: 'Not found', status: 404, detail: `${method} ${path}` }), { status: 404 });
    return new Response(JSON.stringify(a), { status: 200 });
  }) as typeof fetch;
  return { api: new ApiClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchFn }), sent };
}

const item = (rolloutId: string, fromVersion: number | null, mapVersion: number, status: string) => ({
  rolloutId,
  fromVersion,
  mapVersion,
  status,
  requestedBy: 'operator:x',
  reason: 'r',
  failure: null,
  rejected: null,
  requestedAt: null,
  startedAt: null,
  finishedAt: null,
});

describe('eplb rollout', () => {
  const out: string[] = [];
  beforeEach(() => {
    out.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('reads --steps as layer counts and "rest"', () => {
    expect(parseSteps('1,4,rest')).toEqual([1, 4, 'rest']);
    expect(parseSteps('1:gate,4:gate,rest')).toEqual([{ layers: 1, analysis: true }, { layers: 4, analysis: true }, 'rest']);
    expect(() => parseSteps('1,0')).toThrow(UsageError);
    expect(() => parseSteps('two')).toThrow('--steps: "two" is neither a layer count nor "rest"');
  });

  it('start sends the version, steps and failure policy', async () => {
    const { api, sent } = fakeApi({ 'POST /v1/deployments/d/rollouts': { rolloutId: 'r1', status: 'REQUESTED' } });
    expect(await rolloutCommand(['start', 'd', '--to', '3', '--steps', '1,rest', '--on-failure', 'hold'], api)).toBe(0);
    expect(sent[0].body).toEqual({ mapVersion: 3, steps: [1, 'rest'], onFailure: 'hold', reason: 'roll out map version 3 (eplb CLI)' });
    expect(out.join('')).toBe('rollout r1 of d to map version 3: REQUESTED (eplb rollout status d)\n');
    await expect(rolloutCommand(['start', 'd', '--to', '3', '--on-failure', 'panic'], api)).rejects.toThrow('--on-failure must be rollback or hold');
  });

  it('start --force queues past missing agents; a 409 naming nodes says which before failing (exit 4)', async () => {
    const { api, sent } = fakeApi({ 'POST /v1/deployments/d/rollouts': { rolloutId: 'r1', status: 'REQUESTED' } });
    expect(await rolloutCommand(['start', 'd', '--to', '3', '--force'], api)).toBe(0);
    expect(sent[0].body).toEqual({ mapVersion: 3, force: true, reason: 'roll out map version 3 (eplb CLI)' });
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
    const refusing = new ApiClient({
      baseUrl: 'http://api.test',
      token: 't',
      fetch: (async () => new Response(JSON.stringify({ type: 'c', title: 'Conflict', status: 409, detail: 'no live agent on nodes 0, 1 of d', nodes: [0, 1] }), { status: 409 })) as typeof fetch,
    });
    const e = await rolloutCommand(['start', 'd', '--to', '3'], refusing).catch((x: unknown) => x);
    expect(exitCodeOf(e)).toBe(4);
    expect(err.join('')).toBe('nodes without a live agent: 0, 1\nstart their agents (eplb rollout agents d), or repeat with --force to queue the rollout anyway\n');
  });

  it('status shows the measured outcome per changed layer, not measurable with why, or pending; history an OUTCOME column', async () => {
    const RID = 'aaaaaaaa-0000-0000-0000-000000000001';
    const layer = (l: number, before: number, after: number, changed: boolean, projected: [number, number] | null) => ({
      layer: l,
      before,
      after,
      gain: before - after,
      projectedBefore: projected?.[0] ?? null,
      projectedAfter: projected?.[1] ?? null,
      changed,
    });
    const measured = {
      before: { interval: 41, startedAt: 'a', endedAt: 'b', episodes: 64, imbalance: 2.018 },
      after: { interval: 44, startedAt: 'c', endedAt: 'd', episodes: 64, imbalance: 1.549 },
      gain: 0.469,
      excessRemoved: 0.46,
      layers: [layer(0, 1.1, 1.1, false, null), layer(17, 2.9, 1.6, true, [2.8, 1.5])],
      projected: { runId: 'r', interval: 41, before: 2.017, after: 1.42, gain: 0.597 },
    };
    const detail = (outcome: unknown, status = 'SUCCEEDED') => ({
      rolloutId: RID, deployment: 'd', mapVersion: 9, fromVersion: 8, toVersion: 9, requestedBy: 'loop:auto', reason: 'auto', status,
      layers: [{ layer: 17, status: 'COMMITTED', version: 9, verifyError: null }], failure: null, onFailure: 'rollback', promoted: false, gate: null, active: null, outcome,
    });
    const { api } = fakeApi({
      [`GET /v1/deployments/d/rollouts/${RID}`]: detail({ measured, why: null, recordedAt: 'x' }),
      [`GET /v1/deployments/n/rollouts/${RID}`]: detail({ measured: null, why: 'the next rollout started before an interval was measured under this one', recordedAt: 'x' }),
      [`GET /v1/deployments/p/rollouts/${RID}`]: detail(null),
      [`GET /v1/deployments/r/rollouts/${RID}`]: detail(null, 'RUNNING'),
      'GET /v1/deployments/d/rollouts': {
        committedVersions: [9, 9],
        rebalancing: false,
        items: [
          { ...item(RID, 8, 9, 'SUCCEEDED'), outcome: { measured, why: null, recordedAt: 'x' } },
          { ...item('b', 9, 10, 'ROLLED_BACK'), outcome: { measured: null, why: 'w', recordedAt: 'x' } },
          { ...item('c', 9, 10, 'SUCCEEDED'), outcome: null },
          { ...item('e', 9, 11, 'RUNNING'), outcome: null },
        ],
      },
    });
    await rolloutCommand(['status', 'd', RID], api);
    const lines = out.join('').split('\n');
    expect(lines).toContain('outcome imbalance 2.018 → 1.549 (−0.469, 46% of the excess; projected 2.017 → 1.420)');
    expect(lines).toContain('        measured on interval 41 (64 episodes) → interval 44 (64 episodes); 1 changed layer:');
    expect(lines.slice(-3, -1)).toEqual(['        LAYER  BEFORE  AFTER  GAIN   PROJECTED', '        17     2.900   1.600  1.300  2.800 → 1.500']);
    out.length = 0;
    await rolloutCommand(['status', 'n', RID], api);
    expect(out.join('')).toMatch(/\noutcome not measurable — the next rollout started before an interval was measured under this one\n$/);
    out.length = 0;
    await rolloutCommand(['status', 'p', RID], api);
    expect(out.join('')).toMatch(/\noutcome pending \(measured once an interval is sealed wholly after the rollout\)\n$/);
    out.length = 0;
    await rolloutCommand(['status', 'r', RID], api);
    expect(out.join('')).toMatch(/\noutcome pending \(measured after the rollout finishes\)\n$/);
    out.length = 0;
    await rolloutCommand(['history', 'd'], api);
    const rows = out.join('').split('\n');
    expect(rows[0]).toMatch(/^ROLLOUT\s+FROM\s+TO\s+STATUS\s+REQUESTED\s+FINISHED\s+BY\s+OUTCOME\s+REASON$/);
    expect(rows.slice(1, 5).map((r) => r.split(/\s{2,}/)[7])).toEqual(['2.018→1.549', 'n/a', 'pending', '-']);
  });

  it('undo rolls back to where the rollout that brought the current version started', async () => {
    const { api, sent } = fakeApi({
      'GET /v1/deployments/d/rollouts': { committedVersions: [5, 5], rebalancing: false, items: [item('a', 1, 5, 'SUCCEEDED'), item('b', 5, 2, 'SUCCEEDED'), item('c', 2, 5, 'SUCCEEDED')] },
      'POST /v1/deployments/d/rollouts': { rolloutId: 'u', status: 'REQUESTED' },
    });
    expect(await rolloutCommand(['undo', 'd', '--json'], api)).toBe(0);
    expect(sent[1].body).toMatchObject({ mapVersion: 2, reason: 'undo: back to map version 2 from 5 (eplb CLI)' });
    expect(JSON.parse(out.join(''))).toEqual({ rolloutId: 'u', status: 'REQUESTED', mapVersion: 2 });
  });

  it('undo falls back to the parent version; refuses what cannot be undone', async () => {
    const { api, sent } = fakeApi({
      'GET /v1/deployments/d/rollouts': { committedVersions: [4, 4], rebalancing: false, items: [] },
      'GET /v1/deployments/d/maps/4': { parentVersion: 3 },
      'POST /v1/deployments/d/rollouts': { rolloutId: 'u', status: 'REQUESTED' },
      'GET /v1/deployments/m/rollouts': { committedVersions: [4, 3], rebalancing: false, items: [] },
      'GET /v1/deployments/busy/rollouts': { committedVersions: [1], rebalancing: true, items: [item('x', 1, 2, 'RUNNING')] },
      'GET /v1/deployments/one/rollouts': { committedVersions: [1], rebalancing: false, items: [] },
      'GET /v1/deployments/one/maps/1': { parentVersion: null },
    });
    await rolloutCommand(['undo', 'd'], api);
    expect(sent.at(-1)!.body).toMatchObject({ mapVersion: 3 });
    await expect(rolloutCommand(['undo', 'm'], api)).rejects.toThrow('layers of m are on versions 4, 3; name the version with --to');
    await expect(rolloutCommand(['undo', 'busy'], api)).rejects.toThrow('rollout x of busy is not finished');
    await expect(rolloutCommand(['undo', 'busy'], api)).rejects.toThrow(ConflictError);
    await expect(rolloutCommand(['undo', 'one'], api)).rejects.toThrow('one is on map version 1, which has no version before it');
    await expect(rolloutCommand(['undo', 'd', '--to', '4'], api)).rejects.toThrow('d is already on map version 4');
  });

  it('controls name the rollout in progress when none is given; --hold keeps committed layers', async () => {
    const { api, sent } = fakeApi({
      'GET /v1/deployments/d/rollouts': { committedVersions: [1], rebalancing: true, items: [item('old', 1, 2, 'ROLLED_BACK'), item('now', 1, 2, 'RUNNING')] },
      'GET /v1/deployments/quiet/rollouts': { committedVersions: [1], rebalancing: false, items: [item('old', 1, 2, 'SUCCEEDED')] },
      'POST /v1/deployments/d/rollouts/now/abort': { rolloutId: 'now', action: 'abort', accepted: true },
    });
    await rolloutCommand(['abort', 'd', '--hold', '--reason', 'bad gain'], api);
    expect(sent.at(-1)).toEqual({ method: 'POST', path: '/v1/deployments/d/rollouts/now/abort', body: { reason: 'bad gain', rollback: false } });
    await expect(rolloutCommand(['pause', 'd', '--hold'], api)).rejects.toThrow(new UsageError('unknown option --hold'));
    await expect(rolloutCommand(['resume', 'quiet'], api)).rejects.toThrow(NotFoundError);
  });
});
