import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@eplb/contracts';
import { KafkajsBus } from '@eplb/messaging';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { heatEvent } from '../support/heat';

/**
 * What `npm start` does, as a user sees it: the built launcher starts every app as its own
 * process, each answers /healthz, a heat event sent to Kafka comes back through the API, and
 * SIGINT stops everything cleanly. Ports are shifted so a developer's running stack is untouched.
 */
describe('npm start: the whole stack as processes', () => {
  const root = join(__dirname, '..', '..');
  const ports = { API_PORT: '3100', COLLECTOR_PORT: '3101', SCHEDULER_PORT: '3102', ROLLOUT_PORT: '3103', AGENT_PORT: '3104' };
  const config = testConfig();
  let launcher: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    const entry = join(root, 'dist', 'scripts', 'start.js');
    if (!existsSync(entry)) throw new Error('dist/scripts/start.js is missing: `npm test` builds before the integration tier');
    launcher = spawn(process.execPath, [entry], {
      cwd: root,
      env: { ...process.env, ...ports, DATABASE_URL: config.DATABASE_URL, KAFKA_GROUP_PREFIX: config.KAFKA_GROUP_PREFIX, COLLECTOR_START_FROM: 'latest', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    launcher.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    exited = new Promise((done) => launcher.once('exit', (code) => done(code)));
    await eventually(async () => output.includes('stack up in'), 120_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n--- launcher output ---\n${output}`);
    });
  });

  afterAll(async () => {
    if (launcher.exitCode === null) {
      launcher.kill('SIGKILL');
      await exited;
    }
  });

  it('prints every app URL and each answers /healthz and /readyz', async () => {
    for (const [name, port] of Object.entries(ports)) {
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

  it('stops every app cleanly on SIGINT', async () => {
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('all apps stopped');
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  });
});
