import { INestApplication } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlSessionCrypto, deploymentRolloutsStream, publicKeyText, ROLLOUT_EVENTS, ROLLOUT_SIGNATURE_HEADER, signedLine, signRolloutMessage, TOPICS } from '@eplb/contracts';
import { expectedChecksum, SimulatedBackend } from '@eplb/device';
import { DeploymentShape } from '@eplb/domain';
import { KafkajsBus, loadOrCreateSigningKey } from '@eplb/messaging';
import { DEV_ROLLOUT_SIGNING_KEY_FILE } from '@eplb/platform';
import { ApiTokenRepository, readWholeStream, rolloutMachineEvents as machineEventsOf } from '@eplb/persistence';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { AgentRegistry } from '../../apps/rollout/src/agents/agent-registry';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { agentKeys, enrolAgentKey } from '../support/agent-keys';
import { eventually, RunningApp, startApi } from '../support/apps';
import { dialControl } from '../support/control-dial';
import { agentsLive, startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { testConfig } from '../support/env';
import { registerDeployment } from '../support/deployments';
import { http, OPERATOR } from '../support/http';
import { startSimulatedBackends } from '../support/simulated-cluster';

/**
 * Rollouts on the real stack: API → event store → rollout service (Redis lock, Kafka commands)
 * → agents (their own consumer groups, simulated backends moving weights over loopback TCP) →
 * acks → every layer committed, and every rank's weights (checksums of the bytes) as the map
 * version says; an agent failing mid-prepare → the layer aborted, committed layers rolled back.
 */
describe('rollout: service + agents over the control channel and Kafka', () => {
  const config = testConfig();
  const settings = testRolloutSettings({ ROLLOUT_PREPARE_TIMEOUT_MS: '15000' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-rollout-agents' });
  const BYTES = 1024;
  const shape: DeploymentShape = { numLayers: 4, numExperts: 16, numRanks: 12, slotsPerRank: 2, numNodes: 3 };
  const S = shape.slotsPerRank;
  const current = Array.from({ length: 4 }, (_, l) => Array.from({ length: 24 }, (_, p) => (p + l) % 16));
  const target = Array.from({ length: 4 }, (_, l) => Array.from({ length: 24 }, (_, p) => (p * 5 + 3 * l) % 16));
  let api: RunningApp;
  let rollout: INestApplication;
  const backends: SimulatedBackend[] = [];
  let lastRuntimes: AgentRuntime[] = [];
  const runtimes: AgentRuntime[] = [];

  beforeAll(async () => {
    api = await startApi(config);
    rollout = (await startRolloutApp(config, settings)).app;
  });
  afterAll(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    await rollout?.close();
    await api?.close();
  });

  /**
   * Registers a deployment on `current` with version 2 = `target` (as an approved proposal would), then `more` as versions
   * 3, 4, …, and starts its agents: with `direct`, each keeps a control connection to the service (as deployed); without,
   * they talk over Kafka only.
   */
  async function deploymentWithAgents(
    id: string,
    direct: boolean,
    via?: { port: number; tls: { ca: Buffer } },
    more: { map: number[][]; reason: string }[] = [],
  ): Promise<SimulatedBackend[]> {
    await registerDeployment(api, { id, shape, initialMap: current, expertBytes: BYTES, versions: [{ map: target, reason: 'proposal approved' }, ...more] });
    const ds = api.app.get(DataSource);
    const bs = await startSimulatedBackends({ shape, map: current, expertBytes: BYTES });
    backends.push(...bs);
    const service = rollout.get(RolloutService);
    const control = via ? { endpoints: [{ host: '127.0.0.1', port: via.port }], tls: via.tls } : direct ? { endpoints: [{ host: '127.0.0.1', port: service.controlChannelPort }] } : undefined;
    const keys = bs.map(() => agentKeys());
    // on Kafka alone an agent has no hello to enrol its key in: an operator enrols it
    if (!control) await Promise.all(keys.map((k, a) => enrolAgentKey(ds, id, a, k.own)));
    const rts = bs.map((b, a) => new AgentRuntime({ deployment: id, node: a, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: keys[a], ...(control ? { control } : {}) }));
    runtimes.push(...rts);
    await Promise.all(rts.map((rt) => rt.start()));
    await eventually(async () => rts.every((rt) => rt.ready && (!(direct || via) || rt.controlConnected)), 60_000);
    await agentsLive(api.url, id, OPERATOR);
    lastRuntimes = rts;
    return bs;
  }

  /** Every rank of every agent holds, per layer, exactly the rows and weights of `want[layer]`, on `version[layer]`. */
  async function expectHoldings(bs: SimulatedBackend[], want: number[][], versions: number[]): Promise<void> {
    for (const b of bs) {
      for (const lh of (await b.describe()).layers) {
        expect(lh.version, `layer ${lh.layer}`).toBe(versions[lh.layer]);
        for (const rh of lh.ranks) {
          const row = want[lh.layer].slice(rh.rank * S, rh.rank * S + S);
          expect(rh.experts).toEqual(row);
          expect(rh.checksums).toEqual(row.map((e) => expectedChecksum(lh.layer, e, BYTES)));
        }
      }
    }
  }

  const status = async (id: string, rid: string) => (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;

  it('rolls a new map version out over the control channel: every layer committed, every rank holds the new weights', async () => {
    const id = `rollout-ok-${randomUUID().slice(0, 8)}`;
    const service = rollout.get(RolloutService);
    const directBefore = service.stats.commandsSentDirect;
    const bs = await deploymentWithAgents(id, true);
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, steps: [1, 'rest'], reason: 'approved proposal' } });
    expect(r.status).toBe(202);
    const rid = r.body.rolloutId as string;
    const done = await eventually(async () => {
      const s = await status(id, rid);
      return s.status === 'SUCCEEDED' ? s : null;
    }, 45_000, 200);
    expect(done.layers.map((l: { status: string; version: number; verifyError: string | null }) => [l.status, l.version, l.verifyError])).toEqual(
      Array.from({ length: 4 }, () => ['COMMITTED', 2, null]),
    );
    await expectHoldings(bs, target, [2, 2, 2, 2]);
    // the registry the API shows: every node connected, its ranks, heard just now, all layers on v2
    const agents = await eventually(async () => {
      const r = (await http('GET', `${api.url}/v1/deployments/${id}/agents`, { token: OPERATOR })).body;
      return r.agents?.every((a: { heldVersions: Record<string, number> | null }) => a.heldVersions?.['2'] === 4) ? r : null;
    }, 15_000, 200).catch(async () => (await http('GET', `${api.url}/v1/deployments/${id}/agents`, { token: OPERATOR })).body);
    expect(agents.agents.map((a: { node: number; status: string; ranks: number[]; principal: string }) => [a.node, a.status, a.ranks, a.principal])).toEqual(
      [0, 1, 2].map((n) => [n, 'connected', [4 * n, 4 * n + 1, 4 * n + 2, 4 * n + 3], 'bootstrap-operator']),
    );
    // every command of this rollout went over the agents' control connections, none over Kafka
    expect(service.stats.commandsSentDirect - directBefore).toBeGreaterThanOrEqual(4 * 2 * shape.numNodes);
    expect(lastRuntimes.reduce((n, rt) => n + rt.stats.directCommands, 0)).toBe(service.stats.commandsSentDirect - directBefore);
    const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body;
    expect(list.committedVersions).toEqual([2, 2, 2, 2]);
    expect(list.rebalancing).toBe(false);
    // a second rollout to the same version is refused by the service, with the reason
    const again = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, reason: 'again' } });
    expect(again.status).toBe(202);
    const rejected = await eventually(async () => {
      const s = await status(id, again.body.rolloutId);
      return s.status === 'REJECTED' ? s : null;
    }, 15_000, 200);
    expect(rejected.rejected).toMatch(/already on version 2/);
  });

  it('an agent failing mid-prepare (Kafka only): the layer aborted, committed layers rolled back, the previous weights on every rank', async () => {
    const id = `rollout-fault-${randomUUID().slice(0, 8)}`;
    const bs = await deploymentWithAgents(id, false);
    bs[1].faults.failPrepareLayers = [2]; // layers go 0, 1, 2, 3 (no gains): 0 and 1 commit first
    // one layer after the other (window 1): with more in flight, layer 2 would stage beside 0 and 1
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, window: 1, reason: 'fault test' } });
    expect(r.status).toBe(202);
    const rid = r.body.rolloutId as string;
    const done = await eventually(async () => {
      const s = await status(id, rid);
      return s.status === 'ROLLED_BACK' ? s : null;
    }, 45_000, 200);
    expect(done.failure.reason).toMatch(/layer 2: agent 1 failed to prepare: injected fault/);
    expect(done.layers.map((l: { layer: number; status: string; version: number }) => [l.layer, l.status, l.version])).toEqual([
      [0, 'ROLLED_BACK', 1],
      [1, 'ROLLED_BACK', 1],
      [2, 'ABORTED', 1],
      [3, 'PENDING', 1],
    ]);
    await expectHoldings(bs, current, [1, 1, 1, 1]);
    for (const b of bs) expect(b.stagedLayers()).toEqual([]);
    const list = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body;
    expect(list.committedVersions).toEqual([1, 1, 1, 1]);
  });

  it('an agent whose staged weights are lost before the commit refuses it, stages the layer again from the checkpoint, and the rollout completes', async () => {
    const id = `rollout-repair-${randomUUID().slice(0, 8)}`;
    const bs = await deploymentWithAgents(id, true);
    bs[1].faults.loseStagedLayers = [2];
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, reason: 'repair test' } });
    expect(r.status).toBe(202);
    const done = await eventually(async () => {
      const s = await status(id, r.body.rolloutId);
      return ['SUCCEEDED', 'ROLLED_BACK', 'ABORTED'].includes(s.status) ? s : null;
    }, 45_000, 200);
    expect(done.status).toBe('SUCCEEDED');
    expect(bs[1].faults.loseStagedLayers).toEqual([]); // the fault fired
    expect(done.layers.map((l: { status: string; version: number; verifyError: string | null }) => [l.status, l.version, l.verifyError])).toEqual(
      Array.from({ length: 4 }, () => ['COMMITTED', 2, null]),
    );
    await expectHoldings(bs, target, [2, 2, 2, 2]);
    // the log says why: the refusal, then the repair prepare for that agent only
    const ds = api.app.get(DataSource);
    const events = machineEventsOf(await readWholeStream(ds.manager, `rollout:${r.body.rolloutId}`));
    const repairs = events.flatMap((e) => (e.type === 'decided' ? e.commands : [])).flatMap((c) => (c.kind === 'prepare' && c.repair ? [[c.layer, c.agent]] : []));
    expect(repairs).toEqual([[2, 1]]);
  });

  it('undo from a held mixed state: a failed rollout that held its committed layers, then a rollout back to v1 moves only those layers', async () => {
    const id = `rollout-held-${randomUUID().slice(0, 8)}`;
    const bs = await deploymentWithAgents(id, true);
    bs[1].faults.failPrepareLayers = [2];
    // window 1: layers 0 and 1 commit before layer 2 stages and fails
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, onFailure: 'hold', window: 1, reason: 'hold test' } });
    expect(r.status).toBe(202);
    const held = await eventually(async () => {
      const s = await status(id, r.body.rolloutId);
      return s.status === 'ABORTED' ? s : null;
    }, 45_000, 200);
    expect(held.layers.map((l: { layer: number; status: string; version: number }) => [l.layer, l.status, l.version])).toEqual([
      [0, 'COMMITTED', 2],
      [1, 'COMMITTED', 2],
      [2, 'ABORTED', 1],
      [3, 'PENDING', 1],
    ]);
    const mixed = [target[0], target[1], current[2], current[3]];
    await expectHoldings(bs, mixed, [2, 2, 1, 1]);
    expect((await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body.committedVersions).toEqual([2, 2, 1, 1]);
    bs[1].faults.failPrepareLayers = [];
    // undo: back to v1 — only layers 0 and 1 move, each from its own version
    const undo = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 1, reason: 'undo the held layers' } });
    expect(undo.status).toBe(202);
    const undone = await eventually(async () => {
      const s = await status(id, undo.body.rolloutId);
      return s.status === 'SUCCEEDED' || s.status === 'REJECTED' ? s : null;
    }, 45_000, 200);
    expect(undone.status).toBe('SUCCEEDED');
    expect(undone.layers.map((l: { layer: number; version: number }) => [l.layer, l.version])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    await expectHoldings(bs, current, [1, 1, 1, 1]);
    expect((await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body.committedVersions).toEqual([1, 1, 1, 1]);
  });

  it('a rollout with nothing to move (the target\'s rows are what every layer serves) succeeds at once, is recorded finished once, and the next request runs', async () => {
    const id = `rollout-noop-${randomUUID().slice(0, 8)}`;
    // version 3 = the rows of version 1 again, as an undo proposal would be
    const bs = await deploymentWithAgents(id, true, undefined, [{ map: current, reason: 'same rows again' }]);
    const finishedOf = (rid: string) =>
      eventually(async () => {
        const s = await status(id, rid);
        return ['SUCCEEDED', 'ROLLED_BACK', 'ABORTED', 'FAILED', 'REJECTED'].includes(s.status) ? s : null;
      }, 45_000, 200);

    const noop = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 3, reason: 'same rows' } });
    expect(noop.status).toBe(202);
    const done = await finishedOf(noop.body.rolloutId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.layers).toEqual([]);
    expect((await http('GET', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR })).body.committedVersions).toEqual([3, 3, 3, 3]);

    // the deployment is not held by it: the next request is taken up and runs to its end
    const next = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion: 2, reason: 'after the no-op' } });
    expect(next.status).toBe(202);
    expect((await finishedOf(next.body.rolloutId)).status).toBe('SUCCEEDED');
    await expectHoldings(bs, target, [2, 2, 2, 2]);
    const ds = api.app.get(DataSource);
    const finishedRows = (await readWholeStream(ds.manager, deploymentRolloutsStream(id))).filter((e) => e.type === ROLLOUT_EVENTS.finished && (e.payload as { rolloutId: string }).rolloutId === noop.body.rolloutId);
    expect(finishedRows).toHaveLength(1);
  });

  it('the control channel refuses a bad token, a node that is not the deployment\'s, ranks of another node, an unsigned hello, and drops acks for another agent', async () => {
    const id = `rollout-auth-${randomUUID().slice(0, 8)}`;
    await deploymentWithAgents(id, true);
    const service = rollout.get(RolloutService);
    const port = service.controlChannelPort;
    const agentKey = generateKeyPairSync('ed25519').privateKey;
    const serviceKey = agentKeys().service;
    const hello = (over: Record<string, unknown>) => ({ v: 1, type: 'hello', token: OPERATOR, deployment: id, node: 0, ranks: [0, 1, 2, 3], publicKey: publicKeyText(agentKey), ...over });
    /** The service's first answer to `h` signed by `signer`; with a welcome, `then` is sent on the session. */
    const answer = async (h: Record<string, unknown>, then?: (s: ControlSessionCrypto) => string[], signer: KeyObject = agentKey): Promise<string> => {
      const c = await dialControl(port, h, signer, serviceKey);
      if (c.session && then) for (const line of then(c.session)) c.send(line);
      // (the lines are written before the socket closes: the service reads them first)
      setTimeout(() => c.close(), 50).unref();
      return c.answer;
    };
    expect(JSON.parse(await answer(hello({ token: 'not-a-token' })))).toEqual({ type: 'refused', reason: 'token not accepted (needs an active agent or operator token)' });
    expect(JSON.parse(await answer(hello({ node: 7 }))).reason).toMatch(/node 7 is not a node of/);
    expect(JSON.parse(await answer(hello({ ranks: [4, 5, 6, 7] }))).reason).toBe('node 0 serves ranks [0,1,2,3], not [4,5,6,7]');
    expect(JSON.parse(await answer(hello({ deployment: 'no-such-deployment' }))).reason).toMatch(/does not exist/);
    expect(JSON.parse(await answer(hello({ publicKey: undefined }))).reason).toMatch(/^hello: publicKey: /);
    // the hello must be signed by the key it enrols, and name an ephemeral key for the session
    expect(JSON.parse(await answer(hello({}), undefined, generateKeyPairSync('ed25519').privateKey))).toEqual({ type: 'refused', reason: 'hello: not signed by the key it names (publicKey)' });
    expect(JSON.parse(await answer(hello({ ephemeral: undefined }))).reason).toMatch(/^hello: ephemeral: /);
    // the welcome is signed with the service's key and keys a session for this connection (dialControl checks both)
    expect(JSON.parse(await answer(hello({})))).toMatchObject({ v: 1, type: 'welcome' });
    // a token scoped to node 1 of this deployment acts for node 1 only
    const scoped = await http('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: `${id}-node-1`, role: 'agent', scope: { deployment: id, node: 1 } } });
    expect(scoped.status).toBe(201);
    expect(scoped.body.scope).toEqual({ deployment: id, node: 1 });
    expect(JSON.parse(await answer(hello({ token: scoped.body.token })))).toEqual({ type: 'refused', reason: `token is scoped to ${id} node 1, not ${id} node 0` });
    expect(JSON.parse(await answer(hello({ token: scoped.body.token, node: 1, ranks: [4, 5, 6, 7] }))).type).toBe('welcome');
    // an agent token for the whole deployment (issued before agent tokens had to name a node) speaks for none
    const { token: unscoped } = await new ApiTokenRepository(api.app.get(DataSource)).issue(`${id}-all`, 'agent', { actor: 'test', reason: 'legacy token', correlationId: id }, { deployment: id });
    expect(JSON.parse(await answer(hello({ token: unscoped })))).toEqual({ type: 'refused', reason: 'agent tokens must be scoped to one node: issue one with --deployment ID --node N' });
    // … and reads only its deployment through the API
    expect((await http('GET', `${api.url}/v1/deployments/${id}/rebalancing`, { token: scoped.body.token })).status).toBe(200);
    const elsewhere = await http('GET', `${api.url}/v1/deployments/another-one/rebalancing`, { token: scoped.body.token });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.detail).toBe(`this token is scoped to deployment ${id}`);
    const operatorScoped = await http('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: 'x', role: 'operator', scope: { deployment: id } } });
    expect(operatorScoped.status).toBe(400);
    expect(operatorScoped.body.errors).toEqual([{ field: 'body.scope', message: 'only agent tokens take a scope' }]);
    // accepted as node 2 — then an ack claiming to come from node 1 is dropped and counted
    const invalidBefore = service.stats.invalidMessages;
    const forged = { v: 1, type: 'ack', deployment: id, node: 1, generation: 1, sentAt: Date.now(), expiresAt: Date.now() + 60_000, ack: { rolloutId: 'x', layer: 0, attempt: 1, agent: 1, ranks: [4, 5, 6, 7], phase: 'prepare', ok: true } };
    const node2 = hello({ node: 2, ranks: [8, 9, 10, 11] });
    expect(JSON.parse(await answer(node2, (s) => [s.sealer.seal(JSON.stringify(forged))])).type).toBe('welcome');
    await eventually(async () => service.stats.invalidMessages > invalidBefore, 5_000);
    // … and so is one that names its own node outside but another agent inside
    const inner = { ...forged, node: 2 };
    const before2 = service.stats.invalidMessages;
    expect(JSON.parse(await answer(node2, (s) => [s.sealer.seal(JSON.stringify(inner))])).type).toBe('welcome');
    await eventually(async () => service.stats.invalidMessages > before2, 5_000);
  });

  it('the control channel takes a line only with its connection\'s MAC and the next sequence number: forged MACs, replays and other connections\' lines are dropped', async () => {
    // no agents of its own: what the registry hears of node 2 comes from this test's connections alone
    const id = `rollout-mac-${randomUUID().slice(0, 8)}`;
    await registerDeployment(api, { id, shape, initialMap: current, expertBytes: BYTES, versions: [{ map: target, reason: 'proposal approved' }] });
    const service = rollout.get(RolloutService);
    const registry = rollout.get(AgentRegistry);
    const port = service.controlChannelPort;
    const agentKey = generateKeyPairSync('ed25519').privateKey;
    const serviceKey = agentKeys().service;
    const hello = { v: 1, type: 'hello', token: OPERATOR, deployment: id, node: 2, ranks: [8, 9, 10, 11], publicKey: publicKeyText(agentKey) };
    // a heartbeat per test step, told apart by its sentAt (what the registry records as heard)
    const heartbeat = (sentAt: number) => JSON.stringify({ v: 1, type: 'heartbeat', deployment: id, node: 2, ranks: [8, 9, 10, 11], sentAt, expiresAt: Date.now() + 60_000 });
    const heard = () => registry.lastSeen.get(`${id}/2`) ?? 0;
    /** Sends `line` once the clock has moved past the last time heard, then waits until it is heard. */
    const taken = async (line: string, c: { send(l: string): void }) => {
      const before = heard();
      await eventually(async () => Date.now() > before, 1_000);
      c.send(line);
      await eventually(async () => heard() > before, 5_000);
    };
    const dropped = async (line: string, c: { send(l: string): void }) => {
      const before = service.stats.invalidMessages;
      c.send(line);
      await eventually(async () => service.stats.invalidMessages === before + 1, 5_000);
    };
    const old = await dialControl(port, hello, agentKey, serviceKey);
    const c = await dialControl(port, hello, agentKey, serviceKey);
    try {
      const s = c.session!;
      // a genuine line is taken
      const first = s.sealer.seal(heartbeat(1));
      await taken(first, c);
      // the same line again: its sequence number is spent
      await dropped(first, c);
      // a forged MAC (the next number, the right text, a MAC not made with the key)
      const next = s.sealer.seal(heartbeat(2));
      const [seq, mac, ...rest] = next.split(' ');
      await dropped([seq, `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`, ...rest].join(' '), c);
      // a line sealed with the keys of another connection of the same agent (its number would be next there)
      await dropped(old.session!.sealer.seal(heartbeat(3)), c);
      // an Ed25519-signed line as Kafka carries it: on the channel only session lines count
      const value = heartbeat(4);
      await dropped(signedLine(signRolloutMessage(agentKey, value), value), c);
      // none of the refused lines moved the sequence on: the genuine next line is still taken
      await taken(next, c);
    } finally {
      c.close();
      old.close();
    }
  });

  it('an agent on Kafka runs only the commands the service signed: unsigned ones and ones signed with another key are dropped', async () => {
    const id = `rollout-signed-${randomUUID().slice(0, 8)}`;
    await deploymentWithAgents(id, false);
    const rt = lastRuntimes[0];
    // a commit for node 0 (nothing staged: if run, it is answered with an error ack)
    const value = (layer: number) =>
      JSON.stringify({ v: 1, deployment: id, rolloutId: randomUUID(), rolloutSeq: 1, generation: 1, expiresAt: Date.now() + 60_000, command: { kind: 'commit', layer, attempt: 1, agent: 0, ranks: [0, 1, 2, 3] }, sentAt: Date.now() });
    const [unsigned, otherKey, signed, last] = [value(0), value(1), value(2), value(3)];
    // the in-process service signs with the development key
    const serviceKey = loadOrCreateSigningKey(DEV_ROLLOUT_SIGNING_KEY_FILE).key;
    const producer = await bus.producer({ compression: 'none' });
    const before = { ...rt.stats };
    await producer.send(TOPICS.rolloutCommands, [
      { key: id, value: unsigned },
      { key: id, value: otherKey, headers: { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(generateKeyPairSync('ed25519').privateKey, otherKey) } },
      { key: id, value: signed, headers: { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(serviceKey, signed) } },
      // signed too, and after the others on the deployment's partition: once it ran, the agent has read them all
      { key: id, value: last, headers: { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(serviceKey, last) } },
    ]);
    await producer.close();
    // the ones the service's key signed run; the two others do not
    await eventually(async () => rt.stats.executed >= before.executed + 2, 30_000, 50);
    expect(rt.stats.executed - before.executed).toBe(2);
    expect(rt.stats.invalid - before.invalid).toBe(2);
  });

  it('a rollout service with ROLLOUT_CONTROL_TLS_CERT/KEY serves the control channel over TLS: agents dialing TLS verify it and are welcomed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eplb-rollout-tls-'));
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tlsSettings = testRolloutSettings({ ROLLOUT_CONTROL_TLS_CERT: cert, ROLLOUT_CONTROL_TLS_KEY: key });
    const { app: tlsApp, service: svc } = await startRolloutApp(config, tlsSettings, 'rollout-tls');
    try {
      const id = `rollout-tls-${randomUUID().slice(0, 8)}`;
      // every agent's control connection is up: TLS handshake verified against the cert, hello (token) accepted
      await deploymentWithAgents(id, false, { port: svc.controlChannelPort, tls: { ca: readFileSync(cert) } });
      expect(lastRuntimes.every((rt) => rt.controlConnected)).toBe(true);
      expect(() => loadRolloutSettings({ ROLLOUT_CONTROL_TLS_CERT: cert })).toThrow(/set both or neither/);
    } finally {
      await Promise.all(lastRuntimes.map((r) => r.close()));
      await tlsApp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
