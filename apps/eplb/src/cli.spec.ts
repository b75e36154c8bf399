import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCommand } from './cli';

/** Answers by `METHOD path`; anything else is the API's 404 problem. */
function stubApi(answers: Record<string, { status: number; body: unknown }>) {
  vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${String(input).replace(/^https?:\/\/[^/]+/, '')}`;
    const a = answers[key] ?? { status: 404, body: { type: 'https://eplb.dev/problems/not-found', title: 'Not found', status: 404, detail: `no ${key}` } };
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': a.status < 400 ? 'application/json' : 'application/problem+json' } });
  });
}

const problem = (status: number, title: string, detail: string) => ({ status, body: { type: 'x', title, status, detail } });

// The first verb of each group loads its modules (Nest and pino come with the platform lib): allow for a slow machine.
describe('eplb (dispatcher): output and exit codes', { timeout: 30_000 }, () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('documents the exit codes in --help; usage mistakes exit 2', async () => {
    expect(await runCommand(['--help'])).toBe(0);
    expect(out.join('')).toMatch(/exit codes:\n {2}0 {2}ok\n {2}1 .*\n {2}2 {2}usage.*\n {2}3 {2}not found.*\n {2}4 {2}conflict.*\n {2}5 {2}the API is unreachable/);
    expect(await runCommand([])).toBe(2);
    expect(await runCommand(['deploy'])).toBe(2);
    expect(err.at(-1)).toMatch(/^eplb: unknown command "deploy"/);
    expect(await runCommand(['deployments', 'list', '--bogus'])).toBe(2);
    expect(err.at(-1)).toBe('eplb deployments: unknown option --bogus\n');
    expect(await runCommand(['rollout', 'status'])).toBe(2);
    expect(err.at(-1)).toBe('eplb rollout: missing ID\n');
    expect(await runCommand(['maps', 'list', 'd', '-o', 'xml'])).toBe(2);
    expect(err.at(-1)).toBe('eplb maps: option --output: "xml" is not a format (table, json, yaml)\n');
  });

  it('prints help per group and per verb, exit 0', async () => {
    expect(await runCommand(['deployments', '--help'])).toBe(0);
    expect(out.join('')).toMatch(/^usage: eplb deployments <verb> \[options\]\n[\s\S]*verbs:\n {2}list /);
    out.length = 0;
    expect(await runCommand(['deployments', 'settings', '-h'])).toBe(0);
    expect(out.join('')).toMatch(/^usage: eplb deployments settings ID[\s\S]*--mode MODE[\s\S]*-o, --output FORMAT[\s\S]*example/);
  });

  it('exits 3 when what the command names does not exist, 4 on a conflict, 1 when the API refuses', async () => {
    stubApi({
      'POST /v1/deployments/d/rollouts': problem(409, 'Conflict', 'rollout r of d is not finished; one rollout at a time'),
      'PATCH /v1/deployments/d/settings': problem(400, 'Invalid request', 'body.mode: Invalid option'),
      'GET /v1/deployments/quiet/rollouts': { status: 200, body: { committedVersions: [1], rebalancing: false, items: [] } },
    });
    expect(await runCommand(['maps', 'show', 'nope', '2'])).toBe(3);
    expect(err.at(-1)).toBe('eplb maps: 404 Not found: no GET /v1/deployments/nope/maps/2\n');
    expect(await runCommand(['rollout', 'pause', 'quiet'])).toBe(3);
    expect(err.at(-1)).toBe('eplb rollout: quiet has no rollout in progress to pause\n');
    expect(await runCommand(['rollout', 'start', 'd', '--to', '2'])).toBe(4);
    expect(err.at(-1)).toBe('eplb rollout: 409 Conflict: rollout r of d is not finished; one rollout at a time\n');
    expect(await runCommand(['deployments', 'settings', 'd', '--mode', 'sometimes'])).toBe(1);
  });

  it('exits 5 when nothing answers, naming EPLB_API_URL', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    });
    expect(await runCommand(['deployments', 'list'])).toBe(5);
    expect(err.at(-1)).toMatch(/^eplb deployments: API at http:\/\/\S+ unreachable \(fetch failed: ECONNREFUSED\); set EPLB_API_URL\n$/);
  });

  it('prints a table by default and the API answer with -o json or --json', async () => {
    const run = {
      id: '6f1c0000-0000-4000-8000-000000000001',
      status: 'proposed',
      reason: 'layers 0, 2 gain',
      policy: 'greedy',
      phase: 'decode',
      interval: 7,
      baseMapVersion: 1,
      runMs: 12,
      createdAt: '2026-11-23T06:00:00.000Z',
      figures: { currentMean: 1.41, candidateMean: 1.08, transfers: 12 },
      decision: null,
    };
    stubApi({ 'GET /v1/deployments/d/runs': { status: 200, body: { items: [run] } } });
    expect(await runCommand(['deployments', 'runs', 'd'])).toBe(0);
    const lines = out.join('').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+CREATED\s+STATUS\s+POLICY\s+PHASE\s+INTERVAL\s+BASE\s+IMBALANCE\s+TRANSFERS\s+DECISION\s+REASON$/);
    expect(lines[1]).toMatch(/^6f1c0000-\S+\s+2026-11-23 06:00:00Z\s+proposed\s+greedy\s+decode\s+7\s+v1\s+1\.410 → 1\.080\s+12\s+-\s+layers 0, 2 gain$/);
    for (const flag of [['-o', 'json'], ['--output=json'], ['--json']]) {
      out.length = 0;
      expect(await runCommand(['deployments', 'runs', 'd', ...flag])).toBe(0);
      expect(JSON.parse(out.join(''))).toEqual({ items: [run] });
    }
    out.length = 0;
    expect(await runCommand(['deployments', 'runs', 'd', '-o', 'yaml'])).toBe(0);
    expect(out.join('')).toMatch(/^items:\n {2}- id: 6f1c0000-0000-4000-8000-000000000001\n {4}status: proposed\n/);
  });
});
