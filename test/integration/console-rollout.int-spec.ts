import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyRunResponse, RolloutTimeline } from '@eplb/contracts';
import { SimulatedBackend } from '@eplb/device';
import { DeploymentShape } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { simulatorCli } from '../../apps/simulator/src/cli';
import { agentKeys } from '../support/agent-keys';
import { eventually, RunningApp, startApi, startTestCollector } from '../support/apps';
import { buildConsole, canvasDrawn, launchChromium, PAGE_WAIT_MS, SCREENSHOTS, signInTab } from '../support/console-browser';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { startRolloutApp } from '../support/rollout-app';

/**
 * The console's operator pages on the whole stack, in headless Chromium: the simulator publishes
 * skewed heat (following the committed maps through the API) → the collector → the scheduler
 * proposes (approve mode) → an operator approves and deploys from the Proposals page → the
 * rollout service drives two agents → the Rollouts page follows it live to SUCCEEDED on its
 * timeline; a second, throttled rollout is aborted from the page; an analyst sees no controls.
 * Writes the README's screenshots of these pages.
 */
describe('web console in a browser: proposals, rollouts, maps, agents, audit on the live stack', () => {
  const consoleDir = mkdtempSync(join(tmpdir(), 'eplb-console-rollout-'));
  const config = testConfig({ CONSOLE_DIR: consoleDir });
  const settings = loadRolloutSettings({
    ROLLOUT_TICK_MS: '20',
    ROLLOUT_POLL_MS: '100',
    ROLLOUT_RESEND_MS: '1000',
    ROLLOUT_PREPARE_TIMEOUT_MS: '20000',
    ROLLOUT_CONTROL_PORT: '0',
    ROLLOUT_ANALYSIS_MIN_EPISODES: '4',
    ROLLOUT_ANALYSIS_POLL_MS: '200',
    ROLLOUT_ANALYSIS_TIMEOUT_MS: '60000',
    ROLLOUT_OUTCOME_POLL_MS: '300',
  });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-console-rollout-agents' });
  const BYTES = 512;
  const shape: DeploymentShape = { numLayers: 4, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = shape;
  const id = `console-ro-${randomUUID().slice(0, 8)}`;
  const base = `/console/deployments/${id}`;
  // a loaded two-core machine: the stack proposes, rolls out and answers slowly
  const TEST_MS = 600_000;

  let api: RunningApp;
  let collector: RunningApp;
  let scheduler: INestApplication;
  let rollout: INestApplication;
  let browser: Browser;
  let analystToken: string;
  const backends: SimulatedBackend[] = [];
  const runtimes: AgentRuntime[] = [];
  const stop = new AbortController();
  let sim: Promise<number> | null = null;
  let succeeded: string;

  beforeAll(async () => {
    await buildConsole(consoleDir);
    [api, collector] = await Promise.all([startApi(config), startTestCollector(config)]);
    ({ app: rollout } = await startRolloutApp(config, settings));
    const logger = createLogger('scheduler', config.LOG_LEVEL);
    scheduler = await bootstrapHttpApp({ name: 'scheduler', module: SchedulerModule.forRoot(config, logger), logger, host: '127.0.0.1', port: 0 });

    // round-robin: the skewed heat makes it worth replacing
    const v1 = Array.from({ length: L }, () => Array.from({ length: R * S }, (_, p) => p % E));
    const created = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: L, experts: E, ranks: R, slotsPerRank: S, nodes: shape.numNodes },
        windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
        initialMap: v1,
        // approve-and-deploy rolls out in two batches; no analysis gate, whose verdict waits on episodes a loaded machine's collector may store minutes late
        settings: { expertBytes: BYTES, mode: 'approve', cadenceSeconds: 1, threshold: 0.02, minGain: 0.01, rolloutSteps: [1, 'rest'] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const issue = async (body: object): Promise<string> => {
      const r = await http<{ token: string }>('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.token;
    };
    analystToken = await issue({ name: `analyst-${id}`, role: 'analyst' });

    // two nodes, each an agent with a token scoped to it, moving weights over loopback
    const bs = Array.from({ length: shape.numNodes }, (_, a) => new SimulatedBackend({ shape, agent: a, map: v1, version: 1, expertBytes: BYTES }));
    backends.push(...bs);
    const ports = await Promise.all(bs.map((b) => b.listen(0)));
    for (const b of bs) b.setPeers(Object.fromEntries(ports.map((port, a) => [a, { host: '127.0.0.1', port }])));
    const control = { endpoints: [{ host: '127.0.0.1', port: rollout.get(RolloutService).controlChannelPort }] };
    const agentTokens = await Promise.all(bs.map((_, a) => issue({ name: `${id}-node-${a}`, role: 'agent', scope: { deployment: id, node: a } })));
    runtimes.push(...bs.map((b, a) => new AgentRuntime({ deployment: id, node: a, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: agentTokens[a], keys: agentKeys(), control })));
    await Promise.all(runtimes.map((rt) => rt.start()));
    await eventually(async () => runtimes.every((rt) => rt.ready && rt.controlConnected), 60_000);

    // prettier-ignore
    const argv = [
      '--deployment', id, '--scenario', 'stationary', '--zipf', '1.2', '--top-k', '2', '--noise', '0.1', '--seed', '16',
      '--episode-steps', '4', '--rate', '80', '--duration', '600', '--map-source', 'api', '--map-refresh-ms', '100',
      '--token', OPERATOR, '--no-validate', '--api', api.url,
    ];
    sim = simulatorCli({ argv, defaultToken: OPERATOR, defaultBrokers: () => config.KAFKA_BROKERS, signal: stop.signal, stdout: () => undefined, stderr: () => undefined });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    stop.abort();
    await sim?.catch(() => -1);
    await browser?.close();
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    await scheduler?.close();
    await rollout?.close();
    await Promise.all([collector?.close(), api?.close()]);
    rmSync(consoleDir, { recursive: true, force: true });
  });

  /** What changes the plane: approve, reject, a rollout's controls, any form asking for a reason. */
  const controls = (page: Page) => page.locator('[data-testid="approve"], [data-testid="reject"], [data-testid="rollout-controls"], form.action');

  const openProposal = async (): Promise<PolicyRunResponse> =>
    eventually(async () => {
      const r = await http<{ items: PolicyRunResponse[] }>('GET', `${api.url}/v1/deployments/${id}/runs?status=proposed`, { token: OPERATOR });
      return r.body.items?.find((run) => !run.decision);
    }, 120_000, 500);

  it('the fleet lists the simulated deployment; an analyst sees an open proposal with no control to approve or reject it', async () => {
    const page = await signInTab(browser, api.url, analystToken);
    await page.locator(`tr[data-deployment="${id}"] [data-field="mode"]`).waitFor();
    expect(await page.locator(`tr[data-deployment="${id}"] [data-field="mode"]`).textContent()).toBe('approve');
    const run = await openProposal();
    await page.goto(`${api.url}${base}/proposals/${run.id}`);
    await page.getByTestId('run-detail').waitFor();
    await page.getByTestId('what-if').waitFor();
    expect(await page.getByTestId('run-layers').locator('tbody tr').count()).toBe(L);
    expect(await controls(page).count()).toBe(0);
    // the API refuses it anyway, with its problem
    const refused = await http('POST', `${api.url}/v1/deployments/${id}/runs/${run.id}/approve`, { token: analystToken, body: { reason: 'analyst tries' } });
    expect(refused.status).toBe(403);
    expect(refused.contentType).toMatch(/^application\/problem\+json/);
    await page.close();
  }, TEST_MS);

  it('the operator approves and deploys a proposal and watches its rollout reach SUCCEEDED on the timeline', async () => {
    const run = await openProposal();
    const page = await signInTab(browser, api.url, OPERATOR, `${base}/proposals/${run.id}`);
    const detail = page.getByTestId('run-detail');
    await detail.waitFor();
    // per layer imbalance now vs projected, as the run recorded it
    expect(await page.getByTestId('run-layers').locator('tbody tr').count()).toBe(L);
    expect(await page.getByTestId('approve-deploy').isChecked()).toBe(true);
    await page.getByTestId('approve-reason').fill('console test approves');
    await page.screenshot({ path: join(SCREENSHOTS, 'proposals.png'), fullPage: true });
    await page.getByTestId('approve').click();

    // the answer names the rollout; its page follows it live (no reload) to the end
    const link = page.getByTestId('run-rollout');
    await link.waitFor();
    succeeded = (await link.textContent())!;
    await link.click();
    await page.waitForURL(`**${base}/rollouts/${succeeded}`);
    await page.getByTestId('live').and(page.locator('[data-connected="true"]')).waitFor();
    await page.locator(`[data-testid="rollout-detail"][data-status="SUCCEEDED"]`).waitFor({ timeout: 240_000 });
    await page.waitForFunction(canvasDrawn('[data-testid="timeline"]', 200));
    // the timeline the page drew is the API's: every changed layer prepared and committed once
    const timeline = (await http<RolloutTimeline>('GET', `${api.url}/v1/deployments/${id}/rollouts/${succeeded}/timeline`, { token: OPERATOR })).body;
    expect(timeline.layers.length).toBeGreaterThan(0);
    for (const l of timeline.layers) {
      expect(timeline.bars.filter((b) => b.layer === l.layer && b.outcome === 'ok').map((b) => b.phase)).toEqual(['prepare', 'commit']);
    }
    expect(timeline.bytesMoved).toBe(timeline.bytesPlanned);
    expect(await page.getByTestId('rollout-layers').locator('tbody tr[data-status="COMMITTED"]').count()).toBe(timeline.layers.length);
    expect(await page.getByTestId('rollout-status').textContent()).toBe('SUCCEEDED');
    expect(await page.getByTestId('rollout-bytes').textContent()).toContain('bytes moved');
    await page.screenshot({ path: join(SCREENSHOTS, 'rollouts.png'), fullPage: true });
    await page.close();

    // the same page for an analyst: the operator's undo is not there
    const analyst = await signInTab(browser, api.url, analystToken, `${base}/rollouts/${succeeded}`);
    await analyst.locator('[data-testid="rollout-detail"][data-status="SUCCEEDED"]').waitFor();
    await analyst.getByTestId('timeline').waitFor();
    expect(await controls(analyst).count()).toBe(0);
    await analyst.close();
  }, TEST_MS);

  it('a second rollout, throttled, is aborted from its page and ends without succeeding', async () => {
    expect(succeeded).toBeDefined();
    // one rollout at a time: the first one's end is recorded by now (its page showed SUCCEEDED)
    // the operator's CLI or curl asks for it: version 1 again, at 16 bytes a second per agent
    const requested = await http<{ rolloutId: string }>('POST', `${api.url}/v1/deployments/${id}/rollouts`, {
      token: OPERATOR,
      body: { mapVersion: 1, bytesPerSecond: 16, steps: [1, 'rest'], reason: 'console test: a slow one to abort' },
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(202);
    const rid = requested.body.rolloutId;
    const page = await signInTab(browser, api.url, OPERATOR, `${base}/rollouts/${rid}`);
    await page.locator('[data-testid="rollout-detail"][data-status="RUNNING"]').waitFor({ timeout: 120_000 });
    await page.getByTestId('rollout-abort-reason').fill('console test aborts');
    await page.getByTestId('rollout-abort').click();
    await page.locator('[data-testid="rollout-detail"]:is([data-status="ABORTED"], [data-status="ROLLED_BACK"])').waitFor({ timeout: 120_000 });
    const timeline = (await http<RolloutTimeline>('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}/timeline`, { token: OPERATOR })).body;
    expect(timeline.operator).toEqual([expect.objectContaining({ action: 'abort', reason: 'console test aborts' })]);
    // nothing of it stays: every layer is back on the version the first rollout put it on
    expect(timeline.bytesMoved).toBe(0);
    // a finished rollout takes no controls
    expect(await page.getByTestId('rollout-controls').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'rollout-aborted.png'), fullPage: true });
    await page.close();
  }, TEST_MS);

  it('maps show the approved version against its parent as a slot grid; agents and the audit log show the nodes and the chain', async () => {
    const page = await signInTab(browser, api.url, OPERATOR, `${base}/maps`);
    const detail = page.getByTestId('map-detail');
    await detail.waitFor();
    const newest = Number(await detail.getAttribute('data-version'));
    expect(newest).toBeGreaterThan(1);
    expect(await page.getByTestId('map-versions').locator('tbody tr').count()).toBe(newest);
    expect(Number(await page.getByTestId('map-diff').locator('tbody tr').count())).toBeGreaterThan(0);
    expect(await page.getByTestId('slot-grid').locator('tr').count()).toBe(R);
    expect(await page.getByTestId('slot-grid').locator('td[data-changed="true"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'maps.png'), fullPage: true });

    await page.getByTestId('tab-agents').click();
    await page.getByTestId('agents').waitFor();
    const statuses = await page.getByTestId('agents').locator('[data-field="status"]').allTextContents();
    expect(statuses).toEqual(Array.from({ length: shape.numNodes }, () => 'connected'));
    await page.screenshot({ path: join(SCREENSHOTS, 'agents.png'), fullPage: true });

    await page.getByTestId('tab-audit').click();
    await page.getByTestId('audit').waitFor();
    await page.getByTestId('audit-type').fill('proposal.approved');
    await page.getByTestId('audit-filter').click();
    // the unfiltered page may hold an approval already, and a live refresh redraws the table: poll
    // until the filtered page itself shows
    const auditTypes = () => page.locator('[data-testid="audit"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
    await expect.poll(auditTypes, { timeout: PAGE_WAIT_MS }).toEqual(['proposal.approved']);
    await page.getByTestId('audit-type').fill('');
    await page.getByTestId('audit-actor').fill('operator:*');
    await page.getByTestId('audit-filter').click();
    await page.locator('[data-testid="audit"] tbody tr[data-type="rollout.control-requested"]').first().waitFor({ timeout: PAGE_WAIT_MS });
    await page.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });
    await page.close();
  }, TEST_MS);

});
