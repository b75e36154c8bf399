import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS, TopExpertsResponse } from '@eplb/contracts';
import { KafkajsBus, MessageProducer } from '@eplb/messaging';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';
import { http, OPERATOR } from '../support/http';
import { ROOT } from '../support/processes';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, 'docs/screenshots');
/**
 * Runs in the page (a string: this program has no DOM types): the heatmap's canvas holds more
 * than a thousand coloured pixels, i.e. ECharts drew cells on it, not only an empty frame.
 */
const CANVAS_DRAWN = `(() => {
  const canvas = document.querySelector('[data-testid="heatmap"] canvas');
  const ctx = canvas && canvas.width > 0 ? canvas.getContext('2d') : null;
  if (!ctx) return false;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 200 || data[i + 1] < 200)) coloured++;
  return coloured > 1000;
})()`;
// a loaded two-core machine: a page waits this long for what the API and the browser do
const PAGE_WAIT_MS = 60_000;

/**
 * The web console in headless Chromium (Debian's, scripts/browser-deps.sh) against the real API
 * serving it under /console, over a deployment whose heat went Kafka → collector → Postgres.
 * Writes the README's screenshots to docs/screenshots.
 */
describe('web console in a browser: sign-in, fleet, heat, roles', () => {
  const consoleDir = mkdtempSync(join(tmpdir(), 'eplb-console-'));
  const config = testConfig({ CONSOLE_DIR: consoleDir });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-console' });
  const deployment = `console-${randomUUID().slice(0, 8)}`;
  // 4 layers × 16 experts on 2 ranks × 8 slots: the initial round-robin map puts expert s on slot s
  const shape = { layers: 4, experts: 16, ranks: 2, slotsPerRank: 8, nodes: 1 };
  const HOT = { layer: 2, expert: 5 }; // rank 0, slot 5
  let api: RunningApp;
  let collector: RunningApp;
  let producer: MessageProducer;
  let browser: Browser;
  let analystToken: string;
  let agentToken: string;

  const load = (rank: number): number[][] =>
    Array.from({ length: shape.layers }, (_, l) =>
      Array.from({ length: shape.slotsPerRank }, (_, s) => (l === HOT.layer && rank * shape.slotsPerRank + s === HOT.expert ? 500 : 1 + ((l + s + rank) % 7) * 3)),
    );

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) execFileSync('bash', [join(ROOT, 'scripts/browser-deps.sh')], { stdio: 'inherit' });
    // the console as `npm run build` makes it, into a directory of this run's own, before the API
    // starts: the API looks for it once, at start
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'apps/console/vite.config.ts'], {
      cwd: ROOT,
      env: { ...process.env, CONSOLE_OUT_DIR: consoleDir },
    });
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    producer = await bus.producer();
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id: deployment, shape, windows: { episodeSteps: 2, intervalSteps: 4, latenessSteps: 0 } },
    });
    expect(created.status).toBe(201);
    for (let step = 0; step < 4; step++) {
      for (let rank = 0; rank < shape.ranks; rank++) {
        await producer.send(TOPICS.heat, [{ key: deployment, value: JSON.stringify(heatEvent(deployment, rank, step, load(rank))) }]);
      }
    }
    const issue = async (body: object) => {
      const r = await http<{ token: string }>('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body });
      expect(r.status).toBe(201);
      return r.body.token;
    };
    analystToken = await issue({ name: `analyst-${deployment}`, role: 'analyst' });
    agentToken = await issue({ name: `agent-${deployment}`, role: 'agent', scope: { deployment, node: 0 } });
    // both episodes stored
    await eventually(async () => {
      const r = await http<{ items: unknown[] }>('GET', `${api.url}/v1/deployments/${deployment}/heat/episodes`, { token: OPERATOR });
      return r.body.items?.length >= 2;
    }, 120_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.close();
    await bus.close();
    await Promise.all([api?.close(), collector?.close()]);
    rmSync(consoleDir, { recursive: true, force: true });
  });

  /** A fresh tab (its own sessionStorage) signed in with `token` on the sign-in page. */
  async function signIn(token: string, path = '/console/'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(PAGE_WAIT_MS);
    await page.goto(`${api.url}${path}`);
    await page.getByTestId('token').fill(token);
    await page.getByTestId('sign-in').click();
    return page;
  }

  it('serves the built console under /console without a token: files with their types and cache headers, the app for any path below', async () => {
    const index = await fetch(`${api.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, 'index.html names its script under /console/assets').toBeDefined();
    const asset = await fetch(`${api.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const deep = await fetch(`${api.url}/console/deployments/${deployment}/heat`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    // no CDN at run time: every script and stylesheet comes from /console
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('/console/'))).toEqual([]);
    expect(readdirSync(join(consoleDir, 'assets')).some((f) => f.endsWith('.js'))).toBe(true);
  });

  it('without a built console, /console answers a problem saying how to build it', async () => {
    const bare = await startApi(testConfig({ CONSOLE_DIR: join(consoleDir, 'not-built') }));
    try {
      for (const path of ['/console', '/console/', `/console/deployments/${deployment}/heat`]) {
        const r = await http('GET', `${bare.url}${path}`);
        expect(r.status, path).toBe(404);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
        expect(r.body).toMatchObject({ title: 'Console not built', detail: expect.stringContaining('npm run build') });
      }
    } finally {
      await bare.close();
    }
  });

  it('GET /v1/me names the token: role and scope, for an agent token too', async () => {
    expect((await http('GET', `${api.url}/v1/me`, { token: analystToken })).body).toEqual({ name: `analyst-${deployment}`, role: 'analyst', scope: null });
    expect((await http('GET', `${api.url}/v1/me`, { token: agentToken })).body).toEqual({ name: `agent-${deployment}`, role: 'agent', scope: { deployment, node: 0 } });
    expect((await http('GET', `${api.url}/v1/me`)).status).toBe(401);
    // only routes about the caller are open to a scoped token beyond its deployment's own
    expect((await http('GET', `${api.url}/v1/deployments`, { token: agentToken })).status).toBe(403);
    expect(Object.keys((await http('GET', `${api.url}/docs-json`)).body.paths)).toContain('/v1/me');
  });

  it('a bad token shows the API problem: its title and detail', async () => {
    const page = await signIn('not-a-token-anyone-issued');
    const problem = page.getByTestId('problem');
    await problem.waitFor();
    expect(await problem.locator('.problem-title').textContent()).toBe('Unauthenticated');
    expect(await problem.locator('.problem-detail').textContent()).toBe('unknown or revoked token');
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in.png') });
    await page.close();
  });

  it('an agent token cannot sign in', async () => {
    const page = await signIn(agentToken);
    const problem = page.getByTestId('problem');
    await problem.waitFor();
    expect(await problem.locator('.problem-title').textContent()).toBe('Not a console token');
    expect(await page.getByTestId('who').count()).toBe(0);
    await page.close();
  });

  it('the operator signs in; the fleet lists the deployment (mode, imbalance, trend, agents); its heat page draws the heatmap and names the hottest cell the API ranks first', async () => {
    const page = await signIn(OPERATOR);
    expect(await page.getByTestId('who').getAttribute('data-role')).toBe('operator');
    const row = page.locator(`tr[data-deployment="${deployment}"]`);
    await row.locator('[data-field="mode"]').waitFor();
    expect(await row.locator('[data-field="mode"]').textContent()).toBe('observe');
    expect(await row.locator('[data-field="imbalance"]').textContent()).toMatch(/^\d+\.\d{3}/);
    expect(await row.locator('[data-field="rebalancing"]').textContent()).toBe('no');
    // two stored episodes: a line of two points; no agent runs for its one node
    expect(await row.locator('[data-field="trend"] svg polyline').count()).toBe(1);
    expect(await row.locator('[data-field="agents"]').textContent()).toBe('0/1 healthy');
    await page.screenshot({ path: join(SCREENSHOTS, 'fleet.png') });

    await page.getByTestId(`deployment-${deployment}`).click();
    await page.waitForURL(`**/console/deployments/${deployment}/heat`);
    const hottest = page.getByTestId('hottest');
    await hottest.waitFor();
    await page.waitForFunction(CANVAS_DRAWN);
    const top = (await http<TopExpertsResponse>('GET', `${api.url}/v1/deployments/${deployment}/heat/top?k=10`, { token: OPERATOR })).body;
    expect(top.items[0]).toMatchObject(HOT);
    expect(await hottest.getAttribute('data-layer')).toBe(String(top.items[0].layer));
    expect(await hottest.getAttribute('data-expert')).toBe(String(top.items[0].expert));
    expect(Number(await hottest.getAttribute('data-count'))).toBe(top.items[0].count);
    const listed = await page.getByTestId('top').locator('li').evaluateAll((lis) => lis.map((li) => `${li.getAttribute('data-layer')}:${li.getAttribute('data-expert')}`));
    expect(listed).toEqual(top.items.map((h) => `${h.layer}:${h.expert}`));
    await page.screenshot({ path: join(SCREENSHOTS, 'heat.png') });

    // the token is kept for the tab: a reload stays signed in
    await page.reload();
    await page.getByTestId('hottest').waitFor();
    await page.close();
  });

  it('an analyst signs in and sees the same pages with no action buttons', async () => {
    const page = await signIn(analystToken, `/console/deployments/${deployment}/heat`);
    expect(await page.getByTestId('who').getAttribute('data-role')).toBe('analyst');
    await page.getByTestId('hottest').waitFor();
    await page.goto(`${api.url}/console/`);
    await page.locator(`tr[data-deployment="${deployment}"] [data-field="mode"]`).waitFor();
    // the only buttons left are signing out; nothing that changes the plane
    expect(await page.locator('button').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-testid')))).toEqual(['sign-out']);
    await page.close();
  });
});
