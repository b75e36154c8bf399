import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutStream } from '@eplb/contracts';
import { replayRollout } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { readWholeStream, rolloutMachineEvents } from '@eplb/persistence';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { loadAgentSettings } from '../../apps/agent/src/agent-settings';
import { AgentStatePersistence, AgentStateStore } from '../../apps/agent/src/agent-state';
import { AgentModule } from '../../apps/agent/src/agent.module';
import { testConfig } from '../support/env';
import { readOnly, writable } from '../support/read-only-dir';
import { startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { clusterShape, current, heldVersions, requestRollout, rolloutFinished, SimulatedCluster, startSimulatedCluster } from '../support/simulated-cluster';

/**
 * The agent's state on disk (rollout service and agents in process, Kafka, Postgres, Redis): an
 * agent that cannot write its state dir does not start; one whose state dir stops taking writes
 * answers the command as failed with the reason — the rollout fails at once and cleanly, no layer
 * mixed — and, once the dir takes writes again, the next rollout goes through and is on disk.
 */
describe('agent state: durable by default, a failed save is a failed ack', () => {
  const config = testConfig();
  // a prepare timeout far beyond the test's wait: the failure must come from the agent's answer
  const settings = testRolloutSettings({ ROLLOUT_PREPARE_TIMEOUT_MS: '120000' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-agent-state' });
  const dirs: string[] = [];
  const locked: string[] = [];
  const clusters: SimulatedCluster[] = [];
  let rollout: INestApplication;
  let controlPort: number;
  let ds: DataSource;

  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'eplb-agent-state-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    const running = await startRolloutApp(config, settings);
    rollout = running.app;
    controlPort = running.service.controlChannelPort;
    ds = rollout.get(DataSource);
  });
  afterAll(async () => {
    for (const d of locked) writable(d);
    await Promise.all(clusters.map((c) => c.close()));
    await rollout?.close();
    await bus.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('an agent whose state dir cannot be written refuses to start', async () => {
    const dir = tmp();
    const mapFile = join(dir, 'map.json');
    writeFileSync(mapFile, JSON.stringify({ shape: clusterShape, version: 1, physicalToLogical: current }));
    const stateDir = join(dir, 'state');
    writeFileSync(stateDir, 'a file where the directory should be');
    const settings = loadAgentSettings({ AGENT_DEPLOYMENT: `agent-state-${randomUUID().slice(0, 8)}`, AGENT_MAP_FILE: mapFile, AGENT_STATE_DIR: stateDir, AGENT_CONTROL_ENDPOINTS: '' });
    const logger = createLogger('agent', config.LOG_LEVEL);
    await expect(bootstrapHttpApp({ name: 'agent', module: AgentModule.forRoot(config, logger, settings), logger, host: '127.0.0.1', port: 0 })).rejects.toThrow(
      /agent state in .* cannot be kept: .*AGENT_STATE_DIR/,
    );
  });

  it('a state dir that stops taking writes: the prepare is answered failed with the reason, the rollout fails cleanly, no layer mixed; writable again, the next rollout is on disk', { timeout: 120_000 }, async () => {
    const deployment = `agent-state-${randomUUID().slice(0, 8)}`;
    const stateDirs = [tmp(), tmp()];
    const stores = stateDirs.map((d, a) => new AgentStateStore(d, deployment, a));
    const c = await startSimulatedCluster(ds, {
      deployment,
      bus,
      groupPrefix: config.KAFKA_GROUP_PREFIX,
      controlPort,
      state: (a, backend) => new AgentStatePersistence(stores[a], backend),
    });
    clusters.push(c);

    readOnly(stateDirs[1]);
    locked.push(stateDirs[1]);
    const failed = await requestRollout(ds, deployment, 2);
    const end = await rolloutFinished(ds, deployment, failed, 60_000);
    const s = replayRollout(rolloutMachineEvents(await readWholeStream(ds.manager, rolloutStream(failed))));
    expect(end.status, JSON.stringify(s.failure)).toBe('ROLLED_BACK');
    expect(s.failure?.reason).toMatch(/^layer \d+: agent 1 failed to prepare: agent state not saved: /);
    expect(s.layers.filter((l) => l.status === 'COMMITTED')).toEqual([]);
    expect(await heldVersions(c.backends)).toEqual([1, 1, 1, 1]);
    for (const b of c.backends) expect(b.stagedLayers()).toEqual([]);

    writable(stateDirs[1]);
    locked.pop();
    const ok = await requestRollout(ds, deployment, 2);
    expect((await rolloutFinished(ds, deployment, ok, 60_000)).status).toBe('SUCCEEDED');
    expect(await heldVersions(c.backends)).toEqual([2, 2, 2, 2]);
    // what node 1 saved is what its ranks hold
    const saved = stores[1].load();
    expect(saved?.backend?.layers.map((l) => l.version)).toEqual([2, 2, 2, 2]);
  });
});
