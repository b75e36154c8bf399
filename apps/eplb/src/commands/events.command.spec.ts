import { describe, expect, it } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { UsageError } from '@eplb/cli';
import type { AuditEventResponse } from '@eplb/contracts';
import { eventLine, eventsCommand, summarize } from './events.command';

/** The real ApiClient over a fetch answering by a function of the request's path and query. */
function fakeApi(answer: (path: string, q: URLSearchParams) => unknown) {
  const sent: { path: string; q: URLSearchParams }[] = [];
  const fetchFn = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    sent.push({ path: url.pathname, q: url.searchParams });
    const a = answer(url.pathname, url.searchParams);
    if (a === undefined) return new Response(JSON.stringify({ type: 't', title: 'Not found', status: 404, detail: `deployment x does not exist` }), { status: 404 });
    return new Response(JSON.stringify(a), { status: 200 });
  }) as typeof fetch;
  return { api: new ApiClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchFn }), sent };
}

const CHAIN = 'interval:demo:decode:42';
const ev = (id: number, type: string, payload: Record<string, unknown>, actor = 'service:rollout', reason = 'r'): AuditEventResponse => ({
  id: String(id),
  stream: 'rollouts:demo',
  type,
  actor,
  reason,
  correlationId: CHAIN,
  occurredAt: `2026-12-06T10:${String(40 + id).padStart(2, '0')}:03.123Z`,
  payload,
});

/** The chain "why did layer 17 change at 10:42": newest first, as the API pages it. */
const chain: AuditEventResponse[] = [
  ev(1, 'interval.sealed', { phase: 'decode', interval: 42, imbalance: 2.0183 }, 'service:collector', 'decode interval 42 sealed'),
  ev(2, 'proposal.created', { runId: '6f1c2d3e-aaaa-bbbb-cccc-000000000000', interval: 42, policy: 'default', baseMapVersion: 8 }, 'scheduler:policy'),
  ev(3, 'proposal.approved', { runId: '6f1c2d3e-aaaa-bbbb-cccc-000000000000', mapVersion: 9 }, 'operator:alice', 'gain 0.47, reviewed'),
  ev(4, 'map-version.created', { version: 9, parentVersion: 8, runId: '6f1c2d3e-aaaa-bbbb-cccc-000000000000' }, 'operator:alice'),
  ev(5, 'rollout.requested', { rolloutId: 'a1b2c3d4-0000-0000-0000-000000000000', mapVersion: 9, automatic: true }, 'loop:auto'),
  ev(6, 'rollout.started', { fromVersion: 8, toVersion: 9, layers: [17, 3] }),
  ev(7, 'rollout.layer-committed', { layer: 17, version: 9 }, 'service:rollout', 'rollout a1b2'),
  ev(8, 'rollout.analysis', { batch: 0, passed: true, detail: 'diff 0.01 ≤ 0.03' }),
  ev(9, 'rollout.finished', { status: 'SUCCEEDED', failure: null }),
  ev(10, 'rollout.outcome-measured', { fromVersion: 8, toVersion: 9, outcome: { before: { imbalance: 2.018 }, after: { imbalance: 1.549 }, projected: { before: 2.017, after: 1.42 }, onSameHeat: { episodes: 16, previousMap: 2.01, newMap: 1.53, gain: 0.48 } }, why: null }),
].reverse();

describe('eplb events', () => {
  it('prints one line per event, newest at the top, with a summary per type and the chain', async () => {
    const { api, sent } = fakeApi(() => ({ deployment: 'demo', order: 'desc', items: chain, nextCursor: null }));
    const out: string[] = [];
    expect(await eventsCommand(['demo', '--correlation', CHAIN], api, { write: (t) => out.push(t) })).toBe(0);
    expect(sent[0].q.get('correlation')).toBe(CHAIN);
    expect(sent[0].q.get('exclude')).toBe('rollout.ack,rollout.decided');
    const lines = out.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[3]).toBe(`2026-12-06T10:47:03Z  rollout.layer-committed   service:rollout  layer 17 → v9  [${CHAIN}]  rollout a1b2`);
    expect(lines[0]).toContain('rollout.outcome-measured  service:rollout  v8 → v9: imbalance 2.018 → 1.549 (projected 2.017 → 1.420; same heat 2.010 → 1.530)');
    expect(lines[2]).toContain('rollout.analysis          service:rollout  batch 0 pass: diff 0.01 ≤ 0.03');
    expect(lines[5]).toContain('rollout.requested         loop:auto        v9, automatic (rollout a1b2c3d4)');
    expect(lines[7]).toContain('proposal.approved         operator:alice   run 6f1c2d3e → v9');
    expect(lines[7]).toMatch(/gain 0\.47, reviewed$/);
    expect(lines[9]).toContain('interval.sealed           service:collector  decode interval 42, imbalance 2.018');
  });

  it('summarizes each type of the loop', () => {
    expect(summarize({ type: 'rollout.started', payload: { fromVersion: 8, toVersion: 9, layers: [17] } })).toBe('v8 → v9, 1 layer (17)');
    expect(summarize({ type: 'rollout.finished', payload: { status: 'ROLLED_BACK', failure: { reason: 'analysis failed', at: 1 } } })).toBe('ROLLED_BACK: analysis failed');
    expect(summarize({ type: 'rollout.analysis', payload: { batch: 1, passed: false, detail: 'imbalance 1.31 > 1.20' } })).toBe('batch 1 fail: imbalance 1.31 > 1.20');
    expect(summarize({ type: 'rollout.outcome-measured', payload: { fromVersion: 1, toVersion: 2, outcome: null, why: 'the next rollout started first' } })).toBe('v1 → v2: not measurable: the next rollout started first');
    expect(summarize({ type: 'rollout.version-discarded', payload: { version: 5, parentVersion: 3, inService: 4 } })).toBe('v5 (planned on v3, v4 in service)');
    expect(summarize({ type: 'rollout.emergency-planned', payload: { lostRanks: [3], mapVersion: 7 } })).toBe('lost ranks 3 → v7');
    expect(summarize({ type: 'rollout.requested', payload: { rolloutId: 'r', mapVersion: 7, emergency: { lostRanks: [3, 4] } } })).toBe('v7, emergency (lost ranks 3,4) (rollout r)');
    expect(summarize({ type: 'deployment.settings-updated', payload: { mode: 'approve', trippedBy: 'a1b2c3d4-0000', settingsVersion: 4 } })).toBe('mode → approve (breaker tripped by rollout a1b2c3d4)');
    expect(summarize({ type: 'deployment.settings-updated', payload: { rolloutSteps: [{ layers: 1, analysis: true }, 'rest'], rolloutBytesPerSecond: null, settingsVersion: 3 } })).toBe('rolloutSteps → 1:gate,rest, rolloutBytesPerSecond → none');
    expect(summarize({ type: 'map-version.created', payload: { version: 1, parentVersion: null } })).toBe('v1 on -, initial');
    expect(summarize({ type: 'something.new', payload: {} })).toBe('');
    expect(eventLine({ ...chain[0], type: 'x.y', payload: undefined })).toBe(`2026-12-06T10:50:03Z  x.y                       service:rollout  [${CHAIN}]  r`);
  });

  it('sends filters; --type or --all drops the default exclusion; pages with the cursor until --limit', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => ev(2000 - i, 'rollout.layer-committed', { layer: i, version: 2 }));
    const { api, sent } = fakeApi((_, q) => {
      const from = q.get('cursor') ? many.findIndex((e) => e.id === q.get('cursor')) + 1 : 0;
      const items = many.slice(from, from + Number(q.get('limit')));
      return { deployment: 'd', order: 'desc', items, nextCursor: items.length === Number(q.get('limit')) ? items.at(-1)!.id : null };
    });
    const out: string[] = [];
    const write = (t: string) => out.push(t);
    expect(await eventsCommand(['d', '--type', 'rollout.*', '--actor', 'loop:*,operator:*', '--since', '2026-12-06T10:00:00Z', '--until', '2026-12-06T11:00:00', '--limit', '3', '-o', 'json'], api, { write })).toBe(0);
    expect(Object.fromEntries(sent[0].q)).toEqual({ type: 'rollout.*', actor: 'loop:*,operator:*', from: '2026-12-06T10:00:00Z', to: '2026-12-06T11:00:00Z', limit: '3' });
    const r = JSON.parse(out.join('')) as { items: AuditEventResponse[]; nextCursor: string | null };
    expect(r.items.map((e) => e.id)).toEqual(['2000', '1999', '1998']);
    expect(r.nextCursor).toBe('1998');
    sent.length = 0;
    await eventsCommand(['d', '--all', '--limit', '2000'], api, { write });
    expect(sent.map((s) => [s.q.get('limit'), s.q.get('cursor'), s.q.get('exclude')])).toEqual([['1000', null, null], ['1000', '1001', null]]);
    sent.length = 0;
    await eventsCommand(['d', '--exclude', 'interval.sealed'], api, { write });
    expect(sent[0].q.get('exclude')).toBe('interval.sealed,rollout.ack,rollout.decided');
  });

  it('--follow prints the last 20 oldest first, then what comes after, until stopped (exit 0)', async () => {
    let polls = 0;
    const ac = new AbortController();
    const { api, sent } = fakeApi((_, q) => {
      if (q.get('order') !== 'asc') return { deployment: 'd', order: 'desc', items: chain.slice(0, 2), nextCursor: null };
      polls++;
      if (polls === 2) ac.abort();
      const items = polls === 1 ? [ev(11, 'rollout.requested', { rolloutId: 'n', mapVersion: 10, automatic: true }, 'loop:auto')] : [];
      return { deployment: 'd', order: 'asc', items, nextCursor: items.at(-1)?.id ?? q.get('cursor') };
    });
    const out: string[] = [];
    expect(await eventsCommand(['d', '--follow', '--correlation', CHAIN], api, { write: (t) => out.push(t), signal: ac.signal, pollMs: 1 })).toBe(0);
    const lines = out.join('').trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(['rollout.finished', 'rollout.outcome-measured', 'rollout.requested']);
    expect(sent[0].q.get('limit')).toBe('20');
    expect([sent[1].q.get('order'), sent[1].q.get('cursor'), sent[1].q.get('correlation')]).toEqual(['asc', '10', CHAIN]);
    expect(sent[2].q.get('cursor')).toBe('11');
  });

  it('--follow rides out an API that stops answering for a while', async () => {
    let polls = 0;
    const ac = new AbortController();
    const fetchFn = (async (input: string | URL | Request) => {
      const q = new URL(String(input)).searchParams;
      if (q.get('order') !== 'asc') return new Response(JSON.stringify({ deployment: 'd', order: 'desc', items: chain.slice(0, 1), nextCursor: null }));
      polls++;
      if (polls <= 2) throw new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
      ac.abort();
      return new Response(JSON.stringify({ deployment: 'd', order: 'asc', items: [ev(11, 'rollout.layer-committed', { layer: 1, version: 10 })], nextCursor: '11' }));
    }) as typeof fetch;
    const out: string[] = [];
    const err: string[] = [];
    const api = new ApiClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchFn });
    expect(await eventsCommand(['d', '-f'], api, { write: (t) => out.push(t), stderr: (t) => err.push(t), signal: ac.signal, pollMs: 1 })).toBe(0);
    expect(err).toEqual(['eplb events: API at http://api.test unreachable (fetch failed: ECONNREFUSED); still following\n', 'eplb events: the API answers again\n']);
    expect(out.join('')).toContain('layer 1 → v10');
  });

  it('refuses what it cannot do; help has an example', async () => {
    const { api } = fakeApi(() => undefined);
    await expect(eventsCommand([], api)).rejects.toThrow(new UsageError('missing ID'));
    await expect(eventsCommand(['d', '--since', 'yesterday'], api)).rejects.toThrow('--since must be an ISO-8601 time');
    await expect(eventsCommand(['d', '--limit', '0'], api)).rejects.toThrow('--limit must be a positive integer');
    await expect(eventsCommand(['d', '--follow', '--limit', '5'], api)).rejects.toThrow(UsageError);
    await expect(eventsCommand(['x'], api)).rejects.toThrow('404 Not found: deployment x does not exist');
    const out: string[] = [];
    expect(await eventsCommand(['--help'], api, { write: (t) => out.push(t) })).toBe(0);
    expect(out.join('')).toMatch(/^usage: eplb events ID[\s\S]*--correlation ID[\s\S]*examples:\n {2}eplb events /);
  });
});
