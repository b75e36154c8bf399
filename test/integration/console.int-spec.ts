import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS, TopExpertsResponse } from '@eplb/contracts';
import { KafkajsBus, MessageProducer } from '@eplb/messaging';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { testConfig } from '../support/env';
import { heatEvent } from '../support/heat';
import { http, OPERATOR } from '../support/http';
import { buildConsole, canvasDrawn, launchChromium, SCREENSHOTS, signInTab } from '../support/console-browser';

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
    // the console as `npm run build` makes it, into a directory of this run's own, before the API
    // starts: the API looks for it once, at start
    await buildConsole(consoleDir);
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
    browser = await launchChromium();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.close();
    await bus.close();
    await Promise.all([api?.close(), collector?.close()]);
    rmSync(consoleDir, { recursive: true, force: true });
  });

  /** A fresh tab (its own sessionStorage) signed in with `token` on the sign-in page. */
  const signIn = (token: string, path = '/console/'): Promise<Page> => signInTab(browser, api.url, token, path);

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
    // the heat page keeps its range and phase in the query
    await page.waitForURL(new RegExp(`/console/deployments/${deployment}/heat(\\?|$)`));
    const hottest = page.getByTestId('hottest');
    await hottest.waitFor();
    await page.waitForFunction(canvasDrawn('[data-testid="heatmap"]'));
    const top = (await http<TopExpertsResponse>('GET', `${api.url}/v1/deployments/${deployment}/heat/top?k=10`, { token: OPERATOR })).body;
    expect(top.items[0]).toMatchObject(HOT);
    expect(await hottest.getAttribute('data-layer')).toBe(String(top.items[0].layer));
    expect(await hottest.getAttribute('data-expert')).toBe(String(top.items[0].expert));
    expect(Number(await hottest.getAttribute('data-count'))).toBe(top.items[0].count);
    // hovering a cell names its layer, expert and count: the hottest cell's centre (layer 0 is the bottom row)
    const box = (await page.getByTestId('heatmap').boundingBox())!;
    const plot = { left: 64, right: 24, top: 16, bottom: 96 };
    const plotWidth = box.width - plot.left - plot.right;
    const plotHeight = 480 - plot.top - plot.bottom;
    await page.mouse.move(box.x + plot.left + ((HOT.expert + 0.5) / shape.experts) * plotWidth, box.y + plot.top + ((shape.layers - 1 - HOT.layer + 0.5) / shape.layers) * plotHeight);
    expect(await page.getByTestId('heatmap-tip').textContent()).toBe(`layer ${HOT.layer}, expert ${HOT.expert}: ${await hottest.getAttribute('data-count')} tokens`);
    // the top-k is read beside the heatmap, not before it: its list may come after the canvas
    await page.getByTestId('top').waitFor();
    const listed = await page.getByTestId('top').locator('li').evaluateAll((lis) => lis.map((li) => `${li.getAttribute('data-layer')}:${li.getAttribute('data-expert')}`));
    expect(listed).toEqual(top.items.map((h) => `${h.layer}:${h.expert}`));
    // the sections under the heatmap drawn too: per-rank load, one layer over time, the imbalance trend
    await page.getByTestId('rank-load').waitFor();
    await page.waitForFunction(canvasDrawn('[data-testid="layer-time"]', 100));
    await page.waitForFunction(canvasDrawn('[data-testid="imbalance-trend"]', 100));
    await page.screenshot({ path: join(SCREENSHOTS, 'heat.png'), fullPage: true });

    // the token is kept for the tab: a reload stays signed in
    await page.reload();
    await page.getByTestId('hottest').waitFor();
    await page.close();
  }, 300_000);

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
