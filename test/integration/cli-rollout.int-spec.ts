import { INestApplication } from '@nestjs/common';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { deploymentRolloutsStream, publicKeyText } from '@eplb/contracts';
import { SimulatedBackend } from '@eplb/device';
import { DeploymentShape, diffMaps, MAP_FORMATS } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { AgentKeyRepository, readStream } from '@eplb/persistence';
import { bootstrapHttpApp, createLogger } from '@eplb/platform';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { ApiModule } from '../../apps/api/src/app.module';
import { configureApiBodyParser } from '../../apps/api/src/body-parser';
import { agentsCommand } from '../../apps/eplb/src/commands/agents.command';
import { mapsCommand } from '../../apps/eplb/src/commands/maps.command';
import { rolloutCommand } from '../../apps/eplb/src/commands/rollout.command';
import { tokensCommand } from '../../apps/eplb/src/commands/tokens.command';
import { eventually } from '../support/apps';
import { agentsLive, startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { agentKeys } from '../support/agent-keys';
import { captureCliOutput, operatorCliClient } from '../support/cli';
import { startSimulatedBackends } from '../support/simulated-cluster';

/**
 * `eplb maps …` and `eplb rollout …` against the real stack: the API (map versions: import,
 * list, diff, export in every engine format and re-import; problem+json on bad input), the
 * rollout service (Redis lock, Kafka commands) and simulated agents on every node, so a rollout
 * started from the CLI really runs: status, pause/resume, rebalancing state, history, undo, abort.
 */
describe('eplb maps and eplb rollout (CLI over the API, rollout service and agents)', () => {
  const config = testConfig();
  const settings = testRolloutSettings({ ROLLOUT_PREPARE_TIMEOUT_MS: '15000' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-cli-rollout-agents' });
  const BYTES = 4096;
  // 3 layers, 6 experts, 2 nodes × 2 ranks × 2 slots (P = 8)
  const shape: DeploymentShape = { numLayers: 3, numExperts: 6, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
  const P = shape.numRanks * shape.slotsPerRank;
  const v1 = Array.from({ length: 3 }, (_, l) => Array.from({ length: P }, (_, p) => (p + l) % 6));
  const v2 = Array.from({ length: 3 }, (_, l) => (l === 1 ? v1[1].slice() : Array.from({ length: P }, (_, p) => (p * 5 + 2 * l + 1) % 6)));
  const dir = mkdtempSync(join(tmpdir(), 'eplb-cli-rollout-'));
  const id = `cli-ro-${randomUUID().slice(0, 8)}`;
  let out: string[] = [];
  let api: { app: INestApplication; url: string };
  let rollout: INestApplication;
  let client: ApiClient;
  const backends: SimulatedBackend[] = [];
  const runtimes: AgentRuntime[] = [];

  /** Runs a CLI verb, returns what it printed. */
  async function cli(cmd: (argv: string[], api: ApiClient) => Promise<number>, argv: string[]): Promise<string> {
    out.length = 0;
    expect(await cmd(argv, client)).toBe(0);
    return out.join('');
  }
  const cliJson = async (cmd: (argv: string[], api: ApiClient) => Promise<number>, argv: string[]) => JSON.parse(await cli(cmd, [...argv, '--json']));
  const file = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  beforeAll(async () => {
    // the API as main.ts starts it (with its body parser limit), on an ephemeral port
    const apiLogger = createLogger('api', config.LOG_LEVEL);
    const app = await bootstrapHttpApp({ name: 'api', module: ApiModule.forRoot(config, apiLogger), logger: apiLogger, host: '127.0.0.1', port: 0, beforeListen: configureApiBodyParser });
    api = { app, url: await app.getUrl() };
    client = operatorCliClient(api.url);
    rollout = (await startRolloutApp(config, settings)).app;
    const r = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: {
        id,
        shape: { layers: 3, experts: 6, ranks: 4, slotsPerRank: 2, nodes: 2 },
        windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 },
        initialMap: v1,
        settings: { expertBytes: BYTES },
      },
    });
    expect(r.status).toBe(201);
    out = captureCliOutput();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await Promise.all(runtimes.map((rt) => rt.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    await rollout?.close();
    await api?.app.close();
  });

  it('imports a version, lists it with its lineage, diffs it against its parent', async () => {
    const plan = file('v2.json', JSON.stringify({ num_ranks: 4, physical_to_logical: v2 }));
    const created = await cliJson(mapsCommand, ['import', id, '--format', 'eplb', '--input', plan, '--reason', 'hand-made map']);
    expect(created).toMatchObject({ version: 2, parentVersion: 1, source: 'import', origin: { format: 'eplb' }, reason: 'hand-made map', createdBy: expect.stringMatching(/^operator:/) });

    const list = await cliJson(mapsCommand, ['list', id]);
    expect(list.latest).toBe(2);
    expect(list.items.map((v: { version: number; parentVersion: number | null; source: string }) => [v.version, v.parentVersion, v.source])).toEqual([
      [2, 1, 'import'],
      [1, null, 'initial'],
    ]);
    expect(await cli(mapsCommand, ['list', id])).toMatch(/^VERSION\s+PARENT\s+CREATED\s+BY\s+SOURCE\s+REASON\n2 \(latest\)\s+1 .*import \(eplb\)\s+hand-made map\n1\s+-/);

    const want = diffMaps(shape, v1, v2, BYTES);
    const diff = await cliJson(mapsCommand, ['diff', id, '2']);
    expect(diff).toEqual({ deployment: id, version: 2, against: 1, expertBytes: BYTES, layers: want.layers, totals: want.totals });
    expect(diff.totals.layersChanged).toBe(2);
    expect(diff.layers[1]).toMatchObject({ slotsChanged: 0, transfers: 0, bytes: 0 });
    expect((await cliJson(mapsCommand, ['diff', id, '1', '--against', '2'])).totals.transfers).toBe(diffMaps(shape, v2, v1).totals.transfers);
    const human = await cli(mapsCommand, ['diff', id, '2']);
    expect(human).toContain(`version 1 → 2: 2 of 3 layers change, ${want.totals.slotsChanged} slots, ${want.totals.transfers} transfers`);
    expect(human).toMatch(/\nLAYER\s+SLOTS\s+TRANSFERS\s+BYTES\s+LOCAL\s+RANKS\n0\s/);

    const show = await cliJson(mapsCommand, ['show', id, '2']);
    expect(show).toMatchObject({ deployment: id, version: 2, numRanks: 4, slotsPerRank: 2, physicalToLogical: v2 });
    expect(await cli(mapsCommand, ['show', id, '2'])).toContain(`layer   0: ${v2[0].slice(0, 2).join(' ')} | ${v2[0].slice(2, 4).join(' ')} |`);
  });

  it('exports a version in every engine format and re-imports it unchanged (round trip)', async () => {
    const types: Record<string, RegExp> = { 'vllm-ascend': /^application\/json/, sglang: /^application\/json/, trtllm: /^application\/yaml/, eplb: /^application\/json/ };
    for (const format of MAP_FORMATS) {
      const res = await fetch(`${api.url}/v1/deployments/${id}/maps/2?format=${format}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      expect(res.status, format).toBe(200);
      expect(res.headers.get('content-type'), format).toMatch(types[format]);
      const f = join(dir, `export.${format}`);
      await cli(mapsCommand, ['export', id, '2', '--format', format, '--output', f]);
      expect(readFileSync(f, 'utf8'), format).toBe(await res.text());
      const v = await cliJson(mapsCommand, ['import', id, '--format', format, '--input', f]);
      expect(v.origin, format).toEqual({ format });
      const back = await cliJson(mapsCommand, ['show', id, String(v.version)]);
      expect(back.physicalToLogical, format).toEqual(v2);
      expect(back.parentVersion).toBe(v.version - 1);
      expect((await cliJson(mapsCommand, ['diff', id, String(v.version), '--against', '2'])).totals).toEqual({ layersChanged: 0, slotsChanged: 0, transfers: 0, localCopies: 0, bytes: 0 });
    }
    // TensorRT-LLM and SGLang key layers by model layer id: DeepSeek's first 3 layers are dense
    const yaml = await cli(mapsCommand, ['export', id, '2', '--format', 'trtllm', '--first-moe-layer', '3']);
    expect(yaml).toMatch(/num_slots: 8/);
    expect(yaml).toMatch(/\b3: \[/);
    const v = await cliJson(mapsCommand, ['import', id, '--format', 'trtllm', '--input', file('first3.yaml', yaml), '--first-moe-layer', '3']);
    expect((await cliJson(mapsCommand, ['show', id, String(v.version)])).physicalToLogical).toEqual(v2);
    // the JSON document itself is accepted too, not only its text
    const doc = (await http('GET', `${api.url}/v1/deployments/${id}/maps/1?format=vllm-ascend`, { token: OPERATOR })).body;
    const viaObject = await http('POST', `${api.url}/v1/deployments/${id}/maps`, { token: OPERATOR, body: { format: 'vllm-ascend', document: doc, reason: 'v1 again, as a document' } });
    expect(viaObject.status).toBe(201);
    expect((await cliJson(mapsCommand, ['show', id, String(viaObject.body.version)])).physicalToLogical).toEqual(v1);
  });

  it('imports a DeepSeek-V3-sized map file (58 layers × 64 ranks × 5 slots, a few hundred kB)', async () => {
    const big = `cli-ro-big-${randomUUID().slice(0, 8)}`;
    const r = await http('POST', `${api.url}/v1/deployments`, { token: OPERATOR, body: { id: big, shape: { layers: 58, experts: 256, ranks: 64, slotsPerRank: 5, nodes: 8 } } });
    expect(r.status).toBe(201);
    const text = await client.exportMapVersion(big, 1, 'vllm-ascend');
    expect(text.length).toBeGreaterThan(150_000);
    const v = await cliJson(mapsCommand, ['import', big, '--format', 'vllm-ascend', '--input', file('big.json', text)]);
    expect(v).toMatchObject({ version: 2, parentVersion: 1 });
    expect((await cliJson(mapsCommand, ['diff', big, '2'])).totals).toMatchObject({ layersChanged: 0, transfers: 0 });
  });

  it('answers bad map input with 4xx problem+json naming the field; the CLI with one line', async () => {
    const post = (body: unknown) => http('POST', `${api.url}/v1/deployments/${id}/maps`, { token: OPERATOR, body });
    const cases: [unknown, number, string][] = [
      [{ format: 'eplb', document: { num_ranks: 4, physical_to_logical: v2.slice(0, 2) }, reason: 'r' }, 400, 'document.physical_to_logical'],
      [{ format: 'eplb', document: { num_ranks: 2, physical_to_logical: v2 }, reason: 'r' }, 400, 'document.num_ranks'],
      [{ format: 'eplb', document: { num_ranks: 4, physical_to_logical: [v2[0], v2[1], v2[2].map(() => 0)] }, reason: 'r' }, 400, 'document.physical_to_logical[2]'],
      [{ format: 'eplb', document: { num_ranks: 4, physical_to_logical: [v2[0], v2[1], [...v2[2].slice(0, 7), 6]] }, reason: 'r' }, 400, 'document.physical_to_logical[2][7]'],
      [{ format: 'sglang', document: { physical_to_logical_map: [v2[0], v2[1], v2[2].slice(0, 6)] }, reason: 'r' }, 400, 'document.physical_to_logical_map[2]'],
      [{ format: 'sglang', document: '{"physical_to_logical_map": [', reason: 'r' }, 400, 'document'],
      [{ format: 'nccl', document: {}, reason: 'r' }, 400, 'body.format'],
      [{ format: 'eplb', document: { num_ranks: 4, physical_to_logical: v2 } }, 400, 'body.reason'],
      [{ format: 'eplb', document: { num_ranks: 4, physical_to_logical: v2 }, reason: 'r', parent: 1 }, 409, ''],
    ];
    // a vllm-ascend file made for 2 ranks
    const vllm = (await http('GET', `${api.url}/v1/deployments/${id}/maps/2?format=vllm-ascend`, { token: OPERATOR })).body;
    vllm.layer_list.forEach((layer: { device_count: number; device_list: { device_id: number; device_expert: number[] }[] }) => {
      const dl = layer.device_list;
      layer.device_count = 2;
      layer.device_list = [0, 1].map((r) => ({ device_id: r, device_expert: [...dl[2 * r].device_expert, ...dl[2 * r + 1].device_expert] }));
    });
    cases.push([{ format: 'vllm-ascend', document: vllm, reason: 'r' }, 400, 'document.layer_list[0].device_count']);
    const before = (await http('GET', `${api.url}/v1/deployments/${id}/maps`, { token: OPERATOR })).body.latest;
    for (const [body, status, field] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      if (field) expect(r.body.errors.map((e: { field: string }) => e.field), r.body.detail).toContain(field);
    }
    expect((await http('GET', `${api.url}/v1/deployments/${id}/maps`, { token: OPERATOR })).body.latest).toBe(before);

    const get = (path: string) => http('GET', `${api.url}/v1/deployments/${id}/maps${path}`, { token: OPERATOR });
    expect((await get('/99')).status).toBe(404);
    expect((await get('/1/diff')).body.errors[0].field).toBe('query.against');
    expect((await get('/2/diff?against=99')).status).toBe(404);
    expect((await get('/2?format=onnx')).body.errors[0].field).toBe('query.format');
    expect((await get('/zero')).body.errors[0].field).toBe('param');
    expect((await http('GET', `${api.url}/v1/deployments/nope-${id}/maps`, { token: OPERATOR })).status).toBe(404);
    expect((await http('GET', `${api.url}/v1/deployments/${id}/maps`)).status).toBe(401);

    const bad = file('bad.json', JSON.stringify({ num_ranks: 4, physical_to_logical: v2.slice(1) }));
    await expect(mapsCommand(['import', id, '--format', 'eplb', '--input', bad], client)).rejects.toThrow(/^400 Invalid request: document\.physical_to_logical: has 2 MoE layers, deployment cli-ro-\w+ has 3$/);
    await expect(mapsCommand(['show', id, '99'], client)).rejects.toThrow(/^404 Not found: deployment cli-ro-\w+ has no map version 99/);
    await expect(mapsCommand(['export', id, '2', '--format', 'onnx'], client)).rejects.toThrow(/--format: unknown map format "onnx"/);
    await expect(rolloutCommand(['start', id], client)).rejects.toThrow(/missing required option --to/);
    await expect(rolloutCommand(['start', id, '--to', '2', '--steps', '1,x'], client)).rejects.toThrow(/--steps: "x"/);
    await expect(rolloutCommand(['start', id, '--to', '999'], client)).rejects.toThrow(/^400 Invalid request: mapVersion: /);
    await expect(rolloutCommand(['pause', id], client)).rejects.toThrow(`${id} has no rollout in progress to pause`);
  });

  it("registers an agent's key for operators only; an unknown deployment, a node out of range or a key that is not Ed25519 is refused as problem+json", async () => {
    const key = (node: number | string, body: unknown, token?: string) => http('POST', `${api.url}/v1/deployments/${id}/agents/${node}/keys`, { token, body });
    const pub = publicKeyText(generateKeyPairSync('ed25519').publicKey);
    const issue = async (role: string, scope?: { deployment: string; node: number }) =>
      (await http('POST', `${api.url}/v1/tokens`, { token: OPERATOR, body: { name: `${id}-${role}-${randomUUID().slice(0, 4)}`, role, ...(scope ? { scope } : {}) } })).body.token as string;
    expect((await key(0, { publicKey: pub })).status).toBe(401);
    expect((await key(0, { publicKey: pub }, await issue('analyst'))).status).toBe(403);
    // an agent may not register its own key through the API: a stolen agent token would replace it
    expect((await key(0, { publicKey: pub }, await issue('agent', { deployment: id, node: 0 }))).status).toBe(403);
    const unknown = await http('POST', `${api.url}/v1/deployments/nope-${id}/agents/0/keys`, { token: OPERATOR, body: { publicKey: pub } });
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toMatch(/^application\/problem\+json/);
    const outOfRange = await key(shape.numNodes, { publicKey: pub }, OPERATOR);
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.body.errors).toEqual([{ field: 'node', message: `node: deployment ${id} has nodes 0..${shape.numNodes - 1}, not ${shape.numNodes}` }]);
    expect((await key('x', { publicKey: pub }, OPERATOR)).body.errors[0].field).toBe('param');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    for (const publicKey of [rsa, 'not a key']) {
      const r = await key(0, { publicKey }, OPERATOR);
      expect(r.status).toBe(400);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      expect(r.body.errors[0].field).toBe('publicKey');
    }
    expect((await key(0, { publicKey: pub, extra: 1 }, OPERATOR)).status).toBe(400);
    // nothing was registered by the refused calls
    expect(await new AgentKeyRepository(api.app.get(DataSource)).find(id, 0)).toBeNull();
  });

  it('rolls out from the CLI: start, rebalancing state, pause, resume, status, history, undo, abort', async () => {
    // agents on both nodes; every prepare takes a while, so the rollout can be watched and steered
    const bs = await startSimulatedBackends({ shape, map: v1, expertBytes: BYTES, faults: { delayMs: 400 } });
    backends.push(...bs);
    // on Kafka alone: their keys registered by an operator with `eplb agents enrol-key` (no hello
    // on a control channel enrols them) — node 0 from the agent's own key file (only its public
    // half leaves the CLI), node 1 from its public key; the service drops their acks otherwise
    const keys = bs.map(() => agentKeys());
    const keyFile = file('node0.key', keys[0].own.export({ format: 'pem', type: 'pkcs8' }).toString());
    const enrolled0 = await cliJson(agentsCommand, ['enrol-key', id, '0', '--key', keyFile]);
    expect(enrolled0).toEqual({ deployment: id, node: 0, publicKey: publicKeyText(keys[0].own), changed: true });
    const publicPem = file('node1.pub', createPublicKey(keys[1].own).export({ format: 'pem', type: 'spki' }).toString());
    expect(await cli(agentsCommand, ['enrol-key', id, '1', '--key', publicPem])).toBe(`registered: ${id} node 1 key ${publicKeyText(keys[1].own)}\n`);
    expect((await cliJson(agentsCommand, ['enrol-key', id, '1', '--key', publicPem])).changed).toBe(false);
    expect(await new AgentKeyRepository(api.app.get(DataSource)).find(id, 1)).toBe(publicKeyText(keys[1].own));
    const rts = bs.map((b, a) => new AgentRuntime({ deployment: id, node: a, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: keys[a] }));
    runtimes.push(...rts);
    await Promise.all(rts.map((rt) => rt.start()));
    await eventually(async () => rts.every((rt) => rt.ready), 60_000);
    await agentsLive(api.url, id, OPERATOR);

    const rebalancing = async () => (await http('GET', `${api.url}/v1/deployments/${id}/rebalancing`, { token: OPERATOR })).body;
    expect(await rebalancing()).toEqual({ deployment: id, rebalancing: false, rolloutId: null, fromVersion: null, toVersion: null, layersCommitted: 0, layersTotal: 0, since: null, layerVersions: [1, 1, 1] });

    const started = await cliJson(rolloutCommand, ['start', id, '--to', '2', '--steps', '1,rest', '--reason', 'cli test']);
    expect(started).toMatchObject({ status: 'REQUESTED', mapVersion: 2 });
    const rid = started.rolloutId as string;
    const running = await eventually(async () => {
      const s = await rebalancing();
      return s.rebalancing ? s : null;
    }, 20_000, 50);
    expect(running).toMatchObject({ rolloutId: rid, fromVersion: 1, toVersion: 2, layersTotal: 2 });
    expect(Date.parse(running.since)).toBeGreaterThan(Date.now() - 60_000);

    expect(await cli(rolloutCommand, ['pause', id, '--reason', 'look first'])).toContain(`pause of rollout ${rid} accepted`);
    const paused = await eventually(async () => {
      const s = await cliJson(rolloutCommand, ['status', id]);
      return s.status === 'PAUSED' ? s : null;
    }, 20_000, 100);
    expect(paused.layersTotal).toBe(2);
    expect((await rebalancing()).rebalancing).toBe(true);
    expect(await cli(rolloutCommand, ['status', id])).toMatch(new RegExp(`^rollout ${rid} of ${id}: version 1 → 2\\nstate   PAUSED\\nlayers  [0-2]/2 committed`));

    await cli(rolloutCommand, ['resume', id]);
    const done = await eventually(async () => {
      const s = await cliJson(rolloutCommand, ['status', id, rid]);
      return s.status === 'SUCCEEDED' ? s : null;
    }, 30_000, 100);
    expect(done).toMatchObject({ layersCommitted: 2, layersTotal: 2, failure: null });
    expect(await cli(rolloutCommand, ['status', id])).toContain('state   SUCCEEDED\nlayers  2/2 committed');
    expect(await rebalancing()).toMatchObject({ rebalancing: false, rolloutId: null, layerVersions: [2, 2, 2] });

    // undo: a new rollout back to the version before (1)
    const undo = await cliJson(rolloutCommand, ['undo', id]);
    expect(undo.mapVersion).toBe(1);
    await eventually(async () => (await cliJson(rolloutCommand, ['status', id, undo.rolloutId])).status === 'SUCCEEDED', 30_000, 100);
    expect((await rebalancing()).layerVersions).toEqual([1, 1, 1]);
    await expect(rolloutCommand(['undo', id, '--to', '1'], client)).rejects.toThrow(`${id} is already on map version 1`);

    // abort: slow prepares, abort while it runs; committed layers roll back
    for (const b of bs) b.faults.delayMs = 1500;
    const third = await cliJson(rolloutCommand, ['start', id, '--to', '2']);
    await eventually(async () => (await rebalancing()).rebalancing, 20_000, 50);
    expect(await cli(rolloutCommand, ['abort', id, '--reason', 'changed my mind'])).toContain(`abort of rollout ${third.rolloutId} accepted`);
    const aborted = await eventually(async () => {
      const s = await cliJson(rolloutCommand, ['status', id, third.rolloutId]);
      return ['ABORTED', 'ROLLED_BACK'].includes(s.status) ? s : null;
    }, 30_000, 100);
    expect(aborted.failure.reason).toMatch(/changed my mind/);
    expect((await rebalancing())).toMatchObject({ rebalancing: false, layerVersions: [1, 1, 1] });
    await expect(rolloutCommand(['abort', id, third.rolloutId], client)).rejects.toThrow(/^409 Conflict: rollout .* is finished/);

    const history = await cliJson(rolloutCommand, ['history', id]);
    expect(history.items.map((i: { rolloutId: string; fromVersion: number; mapVersion: number; status: string }) => [i.rolloutId, i.fromVersion, i.mapVersion, i.status])).toEqual([
      [rid, 1, 2, 'SUCCEEDED'],
      [undo.rolloutId, 2, 1, 'SUCCEEDED'],
      [third.rolloutId, 1, 2, aborted.status],
    ]);
    const lines = (await cli(rolloutCommand, ['history', id])).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ROLLOUT\s+FROM\s+TO\s+STATUS\s+REQUESTED\s+FINISHED\s+BY\s+OUTCOME\s+REASON$/);
    // no heat flows here: the outcome is pending, or not measurable once the next rollout started
    expect(lines[1]).toMatch(new RegExp(`^${rid}\\s+1\\s+2\\s+SUCCEEDED\\s+.*\\s(pending|n/a)\\s+.*cli test$`));
    expect(await cli(rolloutCommand, ['status', id, rid])).toMatch(/\noutcome (pending \(measured once an interval is sealed|not measurable — )/);
    expect(lines[3]).toMatch(/changed my mind/);
    expect(lines[4]).toBe('layers now on version 1');

    // the agents as the rollout service heard them: over Kafka only here (no control channel)
    const agents = await eventually(async () => {
      const a = await cliJson(rolloutCommand, ['agents', id]);
      // (held versions reach the registry within a heartbeat of the last commit)
      return a.agents.length > 0 && a.agents.every((x: { status: string; heldVersions: Record<string, number> | null }) => x.status === 'kafka-only' && x.heldVersions?.['1'] === 3) ? a : null;
    }, 20_000, 200);
    expect(agents.agents.map((x: { node: number }) => x.node)).toEqual(agents.agents.map((_: unknown, k: number) => k));
    const agentLines = (await cli(rolloutCommand, ['agents', id])).trimEnd().split('\n');
    expect(agentLines[0]).toMatch(/^NODE\s+STATUS\s+RANKS\s+LAST HEARD\s+TOKEN\s+LAYERS HELD$/);
    expect(agentLines[1]).toMatch(/^0\s+kafka-only\s+0-\d+\s+[\d.]+ s ago\s+-\s+v1×3$/);

    // an agent token for node 1 of this deployment, issued from the CLI: shown once, scoped
    const issued = await cliJson(tokensCommand, ['issue', `${id}-node-1`, '--role', 'agent', '--deployment', id, '--node', '1']);
    expect(issued).toMatchObject({ role: 'agent', scope: { deployment: id, node: 1 } });
    expect(issued.token).toMatch(/^eplb_/);
    const scopedClient = new ApiClient({ baseUrl: api.url, token: issued.token });
    expect((await scopedClient.agents(id)).deployment).toBe(id);
    await expect(tokensCommand(['issue', 'x', '--role', 'agent', '--node', '1'], client)).rejects.toThrow('--node needs --deployment');

    // every request and control is an event with its actor and reason
    const events = await readStream(api.app.get(DataSource).manager, deploymentRolloutsStream(id));
    const controls = events.filter((e) => e.type === 'rollout.control-requested').map((e) => [e.payload.action, e.reason, e.actor.startsWith('operator:')]);
    expect(controls).toEqual([
      ['pause', 'look first', true],
      ['resume', 'resume (eplb CLI)', true],
      ['abort', 'changed my mind', true],
    ]);
  });
});
