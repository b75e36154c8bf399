import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaInstance, startKafka, stopKafka } from '../../scripts/infra/kafka';
import { eventually, RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http } from '../support/http';

/**
 * Stop the broker: /readyz says not ready and why; start it again: ready again, same process.
 * Runs its own broker on other ports so the shared one keeps serving the other tests.
 */
describe('readiness follows the broker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eplb-kafka-'));
  const kafka: KafkaInstance = { broker: '127.0.0.1:19092', port: 19092, controllerPort: 19093, dataDir: dir };
  const log = () => undefined;
  let api: RunningApp;

  beforeAll(async () => {
    await startKafka(kafka, log);
    api = await startApi(testConfig({ KAFKA_BROKERS: kafka.broker }));
  });
  afterAll(async () => {
    await api?.close();
    await stopKafka(kafka, log, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes not-ready with the reason when Kafka stops, and ready again when it returns', async () => {
    const ready = await http('GET', `${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ kafka: { status: 'up' }, postgres: { status: 'up' }, redis: { status: 'up' } });

    await stopKafka(kafka, log);
    const down = await eventually(async () => {
      const r = await http('GET', `${api.url}/readyz`);
      return r.status === 503 ? r : null;
    });
    expect(down.contentType).toContain('application/problem+json');
    expect(down.body.type).toBe('https://eplb.dev/problems/not-ready');
    expect(down.body.checks.kafka.status).toBe('down');
    expect(down.body.detail).toMatch(/^kafka: Kafka at 127\.0\.0\.1:19092 unreachable: /);
    expect(down.body.checks.postgres.status).toBe('up');
    expect((await http('GET', `${api.url}/healthz`)).status).toBe(200); // alive all along

    await startKafka(kafka, log);
    await eventually(async () => (await http('GET', `${api.url}/readyz`)).status === 200, 60_000);
  });
});
