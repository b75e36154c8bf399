import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { heatEvent } from '../support/heat';

/**
 * What `npm start` does, as a user sees it: the built launcher starts every app as its own
 * process and, by default, the demo cluster (deployment `demo`, an agent per node, the simulator),
 * each answers /healthz, a heat event sent to Kafka comes back through the API, the demo reaches
 * its milestones, SIGINT stops everything cleanly, and a second start reuses the demo deployment.
 * Ports, the rollout control channel and the Redis database are shifted so a developer's running
 * stack is untouched; the demo's tokens and agent state go to a temporary directory.
 */

describe('npm start: the whole stack as processes', () => {
  const root = join(__dirname, '..', '..');
  // AGENT_PORT: the demo's agent of node 0 (node 1 on the next port)
  const ports = { API_PORT: '3100', COLLECTOR_PORT: '3101', SCHEDULER_PORT: '3102', ROLLOUT_PORT: '3103', AGENT_PORT: '3104' };
  const demoAgent1 = '3105';
  const config = testConfig();
  const redis = new URL(config.REDIS_URL);
  redis.pathname = '/5'; // BullMQ queues and rollout locks apart from any other stack on this Redis
  const stateDir = mkdtempSync(join(tmpdir(), 'eplb-npm-start-'));
  // a database of its own, dropped first: the demo starts from its initial map on every run, as on
  // a fresh machine, whatever an earlier run left in the shared test database
  const database = config.DATABASE_URL.replace(/\/[^/]*$/, '/eplb_test_npm_start');
  let launcher: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  const launch = async (): Promise<void> => {
    const entry = join(root, 'dist', 'scripts', 'start.js');
    if (!existsSync(entry)) throw new Error('dist/scripts/start.js is missing: `npm test` builds before the integration tier');
    output = '';
    launcher = spawn(process.execPath, [entry], {
      cwd: root,
      env: {
        ...process.env,
        ...ports,
        ROLLOUT_CONTROL_PORT: '3573',
        REDIS_URL: redis.toString(),
        EPLB_DEMO_STATE_DIR: stateDir,
        DATABASE_URL: database,
        KAFKA_GROUP_PREFIX: config.KAFKA_GROUP_PREFIX,
        COLLECTOR_START_FROM: 'latest',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    launcher.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    exited = new Promise((done) => launcher.once('exit', (code) => done(code)));
    await eventually(async () => output.includes('stack up in'), 180_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n--- launcher output ---\n${output}`);
    });
  };
  /** The launcher's line starting with `prefix` (its `[eplb] ` tag removed), once printed. */
  const line = (prefix: string, timeoutMs: number): Promise<string> =>
    eventually(async () => output.split('\n').map((l) => l.replace(/^\[eplb\] /, '')).find((l) => l.startsWith(prefix)), timeoutMs, 250).catch((err: Error) => {
      throw new Error(`"${prefix}": ${err.message}\n--- launcher output ---\n${output.split('\n').filter((l) => l.startsWith('[eplb]')).join('\n')}`);
    });

  beforeAll(async () => {
    const admin = new Client({ connectionString: config.DATABASE_URL.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query('DROP DATABASE IF EXISTS eplb_test_npm_start WITH (FORCE)');
    await admin.end();
    const r = new Redis(redis.toString());
    await r.flushdb();
    r.disconnect();
    await launch();
  }, 300_000);

  afterAll(async () => {
    if (launcher.exitCode === null) {
      launcher.kill('SIGKILL');
      await exited;
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('prints every app URL and each answers /healthz and /readyz', async () => {
    for (const [name, port] of [...Object.entries(ports), ['demo agent of node 1', demoAgent1]]) {
      const url = `http://127.0.0.1:${port}`;
      expect(output, name).toContain(url);
      expect((await http('GET', `${url}/healthz`)).status, `${name} /healthz`).toBe(200);
      await eventually(async () => (await http('GET', `${url}/readyz`)).status === 200, 60_000);
    }
  });

  it('returns a heat event sent to Kafka through the API', async () => {
    const api = `http://127.0.0.1:${ports.API_PORT}`;
    await eventually(async () => (await http('GET', `http://127.0.0.1:${ports.COLLECTOR_PORT}/readyz`)).status === 200, 60_000);
    const deployment = `start-${randomUUID().slice(0, 8)}`;
    const created = await http('POST', `${api}/v1/deployments`, {
      token: OPERATOR,
      body: { id: deployment, shape: { layers: 1, experts: 2, ranks: 1, slotsPerRank: 3, nodes: 1 }, windows: { episodeSteps: 1, intervalSteps: 4, latenessSteps: 0 } },
    });
    expect(created.status).toBe(201);
    const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-npm-start' });
    try {
      const producer = await bus.producer();
      const event = heatEvent(deployment, 0, 42, [[5, 0, 2]], { phase: 'prefill' });
      await producer.send(TOPICS.heat, [{ key: deployment, value: JSON.stringify(event) }]);
    } finally {
      await bus.close();
    }
    const page = await eventually(async () => {
      const r = await http('GET', `${api}/v1/deployments/${deployment}/heat/episodes?phase=prefill&loads=true`, { token: OPERATOR });
      return r.body.items?.length ? r.body : null;
    });
    // slots hold experts [0, 1, 0]: expert 0 gets 5 + 2
    expect(page.items).toEqual([expect.objectContaining({ episode: 42, startStep: 42, events: 1, logical: [[7, 0]] })]);
  });

  it('runs the demo cluster: heat flowing, a first proposal, and (with auto mode deploying) rollouts and the imbalance before → after', async () => {
    const api = `http://127.0.0.1:${ports.API_PORT}`;
    expect(output).toMatch(/demo: (deployment demo registered|reusing deployment demo)/);
    const d = (await http('GET', `${api}/v1/deployments/demo`, { token: OPERATOR })).body;
    expect(d.shape).toMatchObject({ layers: 16, experts: 64, ranks: 8, slotsPerRank: 10, nodes: 2 });
    // the agents authenticated with their own node-scoped tokens
    const agents = await eventually(async () => {
      const r = (await http('GET', `${api}/v1/deployments/demo/agents`, { token: OPERATOR })).body;
      return r.agents?.every((a: { status: string }) => a.status === 'connected') ? r.agents : null;
    }, 60_000, 500);
    expect(agents.map((a: { principal: string }) => a.principal)).toEqual(['demo-agent-node-0', 'demo-agent-node-1']);

    const heat = await line('demo: heat flowing', 120_000);
    expect(heat).toMatch(/measured imbalance \d\.\d{3}/);
    // a new deployment gets its first proposal; a reused one may be past it (its runs are on record)
    const proposed = await eventually(async () => (await http('GET', `${api}/v1/deployments/demo/runs?status=proposed&limit=1`, { token: OPERATOR })).body.items?.[0], 180_000, 1000);
    expect(proposed.figures.candidateMean).toBeLessThan(proposed.figures.currentMean);
    await line('demo: first proposal', 30_000);
    await line('demo: rollout started', 120_000);
    await line('demo: layers committed', 120_000);
    const outcome = await line('demo: imbalance before → after', 300_000);
    const [, before, after] = /— (\d\.\d{3}) → (\d\.\d{3}) measured by the collector/.exec(outcome)!;
    expect(Number(after)).toBeLessThan(Number(before));
  }, 900_000);

  it('stops every app cleanly on SIGINT', async () => {
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('all apps stopped');
    for (const port of [...Object.values(ports), demoAgent1]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  });

  it('starts again on the same demo deployment, its tokens and agent state', async () => {
    await launch();
    expect(output).toContain('demo: reusing deployment demo');
    expect(output).not.toContain('demo: issued an agent token');
    await line('demo: heat flowing', 120_000);
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 300_000);
});
