import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedBackend } from '@eplb/device';
import { DeploymentShape } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { ApiTokenRepository, createDataSource, DeploymentRepository, readWholeStream } from '@eplb/persistence';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { agentKeys } from '../support/agent-keys';
import { eventually } from '../support/apps';
import { testConfig } from '../support/env';
import { OPERATOR } from '../support/http';
import { startRolloutApp } from '../support/rollout-app';

/**
 * An agent that connects while Postgres refuses the write of its `agent.connected` event (a
 * restart, a dead pooled connection) still gets the event into the audit log once Postgres takes
 * writes again: the rollout service retries it. The refusal is real Postgres, made deterministic by
 * a trigger that rejects that one deployment's `agent.connected` rows and counts each refused try
 * in a sequence (a sequence advances even when the transaction rolls back).
 */
describe('agent.connected through a Postgres write failure', () => {
  const config = testConfig();
  const settings = loadRolloutSettings({ ROLLOUT_TICK_MS: '20', ROLLOUT_POLL_MS: '100', ROLLOUT_CONTROL_PORT: '0' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-agent-connected-blip' });
  const shape: DeploymentShape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 1 };
  const map = Array.from({ length: shape.numLayers }, (_, l) => Array.from({ length: shape.numRanks * shape.slotsPerRank }, (_, p) => (p + l) % shape.numExperts));
  const dep = `blip-${randomUUID().slice(0, 8)}`;
  const tag = dep.replace('-', '_');
  let ds: DataSource;
  let rollout: INestApplication;
  let backend: SimulatedBackend | null = null;
  let runtime: AgentRuntime | null = null;

  beforeAll(async () => {
    ds = createDataSource(config.DATABASE_URL, 'eplb-test-agent-connected-blip');
    await ds.initialize();
    await new ApiTokenRepository(ds).ensureBootstrap(OPERATOR);
    await new DeploymentRepository(ds).create(
      { id: dep, ...shape, numGroups: null, episodeSteps: 4, intervalSteps: 16, latenessSteps: 4, initialMap: map, settings: { expertBytes: 64 } },
      { actor: 'test', reason: 'agent.connected blip test', correlationId: dep },
    );
    rollout = (await startRolloutApp(config, settings)).app;
  });
  afterAll(async () => {
    await runtime?.close();
    await backend?.close();
    await bus.close();
    await rollout?.close();
    await dropRefusal().catch(() => undefined);
    await ds?.destroy();
  });

  async function refuseConnectedEvents(): Promise<void> {
    await ds.query(`CREATE SEQUENCE ${tag}_refused`);
    await ds.query(`
      CREATE FUNCTION ${tag}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.type = 'agent.connected' AND NEW.stream = 'agents:${dep}' THEN
          PERFORM nextval('${tag}_refused');
          RAISE EXCEPTION 'refused for the test';
        END IF;
        RETURN NEW;
      END $$`);
    await ds.query(`CREATE TRIGGER ${tag}_refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION ${tag}_refuse()`);
  }
  async function dropRefusal(): Promise<void> {
    await ds.query(`DROP TRIGGER IF EXISTS ${tag}_refuse ON events`);
    await ds.query(`DROP FUNCTION IF EXISTS ${tag}_refuse()`);
    await ds.query(`DROP SEQUENCE IF EXISTS ${tag}_refused`);
  }
  const refusedTries = async (): Promise<number> => {
    const [r] = (await ds.query(`SELECT last_value, is_called FROM ${tag}_refused`)) as { last_value: string; is_called: boolean }[];
    return r.is_called ? Number(r.last_value) : 0;
  };
  const connectedEvents = async () => (await readWholeStream(ds.manager, `agents:${dep}`)).filter((e) => e.type === 'agent.connected');

  it('is recorded once Postgres takes the write again', { timeout: 120_000 }, async () => {
    await refuseConnectedEvents();
    backend = new SimulatedBackend({ shape, agent: 0, map, version: 1, expertBytes: 64 });
    await backend.listen(0);
    const port = rollout.get(RolloutService).controlChannelPort;
    runtime = new AgentRuntime({ deployment: dep, node: 0, ranks: backend.ranks, backend, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: agentKeys(), control: { endpoints: [{ host: '127.0.0.1', port }] } });
    await runtime.start();
    await eventually(async () => runtime!.controlConnected, 60_000, 50);
    // the service tried to record the connection and Postgres refused it
    await eventually(async () => (await refusedTries()) >= 1, 30_000, 50);
    expect(await connectedEvents()).toEqual([]);
    await dropRefusal();
    const recorded = await eventually(async () => {
      const es = await connectedEvents();
      return es.length > 0 ? es : null;
    }, 30_000, 100);
    expect(recorded.length).toBeGreaterThanOrEqual(1);
    expect(recorded[0].payload).toMatchObject({ node: 0, ranks: backend.ranks });
    // the session went on regardless: still connected
    expect(runtime.controlConnected).toBe(true);
  });
});
