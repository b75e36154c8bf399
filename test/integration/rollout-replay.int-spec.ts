import { INestApplication } from '@nestjs/common';
import { createHash, createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRolloutAck, parseRolloutCommand, ROLLOUT_MESSAGE_TTL_MS, ROLLOUT_SIGNATURE_HEADER, rolloutStream, signRolloutMessage, TOPICS } from '@eplb/contracts';
import { SimulatedBackend } from '@eplb/device';
import { DeploymentShape, LayerHoldings } from '@eplb/domain';
import { KafkajsBus, MessageConsumer } from '@eplb/messaging';
import { DeploymentRepository, readWholeStream } from '@eplb/persistence';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { agentKeys, enrolAgentKey } from '../support/agent-keys';
import { eventually, RunningApp, startApi } from '../support/apps';
import { testConfig } from '../support/env';
import { http, OPERATOR } from '../support/http';
import { agentsLive, startRolloutApp, testRolloutSettings } from '../support/rollout-app';
import { startSimulatedBackends } from '../support/simulated-cluster';

interface Captured {
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/**
 * Replays and forgeries against the real rollout service and agents over Kafka: commands an
 * attacker captured on the topic (a finished rollout's prepare + commit, an aborted rollout's
 * abort), replayed later — to a running agent, to one restarted without its state, and while a
 * newer rollout has weights staged — are refused and change nothing; a replayed ack is not
 * recorded; and someone holding a full copy of the database (token hashes, enrolled public keys)
 * can sign neither a command an agent runs nor an ack the service takes.
 */
describe('rollout replay and forgery: signed, bound, fresh commands and acks', () => {
  const config = testConfig();
  const settings = testRolloutSettings({ ROLLOUT_PREPARE_TIMEOUT_MS: '30000' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-rollout-replay' });
  const BYTES = 512;
  const shape: DeploymentShape = { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
  const v1 = Array.from({ length: 3 }, () => [0, 1, 2, 3, 4, 5, 6, 7]);
  const v2 = Array.from({ length: 3 }, (_, l) => [7, 6, 5, 4, 3, 2, 1, 0].map((e) => (e + l) % 8));
  const id = `replay-${randomUUID().slice(0, 8)}`;
  let api: RunningApp;
  let rollout: INestApplication;
  let ds: DataSource;
  const backends: SimulatedBackend[] = [];
  const runtimes: AgentRuntime[] = [];
  const keys = [agentKeys(), agentKeys()];
  const commands: Captured[] = [];
  const acks: Captured[] = [];
  const taps: MessageConsumer[] = [];

  /** Everything published on `topic` for this deployment from now on, kept as sent (bytes and headers). */
  async function tap(topic: string, into: Captured[]): Promise<void> {
    let assigned = false;
    const c = bus.consumer({ groupId: `${config.KAFKA_GROUP_PREFIX}-tap-${topic}`, topics: [topic], fromBeginning: false, onAssignment: () => (assigned = true) });
    taps.push(c);
    await c.run(async (batch) => {
      for (const m of batch.messages) if (m.key?.toString() === id && m.value) into.push({ value: m.value, headers: m.headers as Record<string, string> });
    });
    await eventually(async () => assigned, 60_000);
  }

  const startAgent = (node: number) => {
    const b = backends[node];
    const rt = new AgentRuntime({ deployment: id, node, ranks: b.ranks, backend: b, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: keys[node] });
    runtimes[node] = rt;
    return rt;
  };

  /** `window`: layers in flight at once (absent: the service's). */
  const request = async (mapVersion: number, reason: string, window?: number): Promise<string> => {
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion, steps: ['rest'], onFailure: 'hold', reason, ...(window ? { window } : {}) } });
    expect(r.status).toBe(202);
    return r.body.rolloutId as string;
  };
  const ended = (rid: string, want: string) =>
    eventually(async () => {
      const s = (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;
      return s.status === want ? s : null;
    }, 60_000, 100);
  const held = async (b: SimulatedBackend): Promise<LayerHoldings[]> => (await b.describe()).layers;
  /** The captured commands of rollout `rid` for node 0, of these kinds. */
  const capturedOf = (rid: string, kinds: string[]) =>
    commands.filter((c) => {
      const p = parseRolloutCommand(c.value);
      return p.ok && p.message.rolloutId === rid && p.message.command.agent === 0 && kinds.includes(p.message.command.kind);
    });
  const replay = async (topic: string, msgs: Captured[]) => {
    const producer = await bus.producer({ compression: 'none' });
    await producer.send(topic, msgs.map((m) => ({ key: id, value: m.value, headers: m.headers })));
    await producer.close();
  };

  beforeAll(async () => {
    api = await startApi(config);
    rollout = (await startRolloutApp(config, settings)).app;
    ds = api.app.get(DataSource);
    const r = await http('POST', `${api.url}/v1/deployments`, {
      token: OPERATOR,
      body: { id, shape: { layers: 3, experts: 8, ranks: 4, slotsPerRank: 2, nodes: 2 }, windows: { episodeSteps: 4, intervalSteps: 16, latenessSteps: 4 }, initialMap: v1, settings: { expertBytes: BYTES } },
    });
    expect(r.status).toBe(201);
    await ds.transaction((em) => new DeploymentRepository(ds).createMapVersion(em, id, 1, v2, { actor: 'test', reason: 'replay test', correlationId: id }, { source: 'test' }));
    backends.push(...(await startSimulatedBackends({ shape, map: v1, expertBytes: BYTES })));
    // on Kafka alone (every command crosses the topic, where the attacker reads): keys enrolled by an operator
    await Promise.all(keys.map((k, a) => enrolAgentKey(ds, id, a, k.own)));
    await Promise.all([tap(TOPICS.rolloutCommands, commands), tap(TOPICS.rolloutAcks, acks)]);
    await Promise.all([0, 1].map((a) => startAgent(a).start()));
    await eventually(async () => runtimes.every((rt) => rt.ready), 60_000);
    await agentsLive(api.url, id, OPERATOR);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(taps.map((t) => t.close()));
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await bus.close();
    await rollout?.close();
    await api?.close();
  });

  it('a captured prepare + commit and a captured abort, replayed, are refused: no layer changes, a newer rollout\'s staged weights stay, its log records no replayed ack', { timeout: 240_000 }, async () => {
    // rollout A (v1 → v2): node 1 is slow, node 0 stages; the operator aborts it — its abort crosses the topic
    backends[1].faults.delayMs = 60_000;
    const a = await request(2, 'to be aborted');
    await eventually(async () => backends[0].stagedLayers().length > 0, 60_000, 20);
    expect((await http('POST', `${api.url}/v1/deployments/${id}/rollouts/${a}/abort`, { token: OPERATOR, body: { reason: 'replay test', rollback: false } })).status).toBe(202);
    await ended(a, 'ABORTED');
    await eventually(async () => capturedOf(a, ['abort']).length > 0 && backends[0].stagedLayers().length === 0, 30_000, 20);
    backends[1].faults.delayMs = 0;

    // rollout B (v1 → v2) succeeds: its prepares and commits cross the topic
    const b = await request(2, 'v2');
    await ended(b, 'SUCCEEDED');
    // (at least one per layer: on a busy machine an ack may come after the resend)
    await eventually(async () => capturedOf(b, ['commit']).length >= shape.numLayers, 30_000, 20);
    const prepareCommitB = capturedOf(b, ['prepare', 'commit']);
    const abortA = capturedOf(a, ['abort']);

    // rollout C (v2 → v1): node 0 stages a layer while node 1 is slow (one layer at a time, so
    // what node 0 has staged stays put while the replays arrive)
    backends[1].faults.delayMs = 4_000;
    const c = await request(1, 'back to v1', 1);
    const stagedC = await eventually(async () => (backends[0].stagedLayers().length > 0 ? backends[0].stagedLayers() : null), 60_000, 20);
    const heldBefore = await held(backends[0]);
    const agent0 = runtimes[0];
    const staleBefore = agent0.stats.stale;
    const executedBefore = agent0.stats.executed;
    // … an attacker replays A's abort and B's prepare + commit to node 0, and node 0's own prepare ack of C to the service
    const ackC = await eventually(async () => acks.find((m) => {
      const p = parseRolloutAck(m.value);
      return p.ok && p.message.type === 'ack' && p.message.ack.rolloutId === c && p.message.ack.agent === 0 && p.message.ack.phase === 'prepare';
    }) ?? null, 30_000, 20);
    await replay(TOPICS.rolloutCommands, [...abortA, ...prepareCommitB]);
    await replay(TOPICS.rolloutAcks, [ackC, ackC]);
    await eventually(async () => agent0.stats.stale >= staleBefore + abortA.length + prepareCommitB.length, 30_000, 20);
    expect(agent0.stats.executed).toBe(executedBefore);
    expect(backends[0].stagedLayers()).toEqual(stagedC);
    expect(await held(backends[0])).toEqual(heldBefore);

    // C goes on and ends on v1 everywhere
    backends[1].faults.delayMs = 0;
    await ended(c, 'SUCCEEDED');
    for (const be of backends) for (const l of await held(be)) expect(l.version).toBe(1);
    // the service recorded node 0's prepare ack of each layer of C once: the replayed copies added nothing
    const logged = (await readWholeStream(ds.manager, rolloutStream(c))).filter((e) => e.type === 'rollout.ack');
    const prepareAcks0 = logged.filter((e) => {
      const ack = (e.payload as { ack: { agent: number; phase: string; layer: number } }).ack;
      return ack.agent === 0 && ack.phase === 'prepare';
    });
    expect(prepareAcks0.map((e) => (e.payload as { ack: { layer: number } }).ack.layer).sort()).toEqual([0, 1, 2]);

    // node 0's agent restarts without any state (no ledger, no record of what it took): B's prepare + commit replayed again
    await runtimes[0].close();
    const fresh = startAgent(0);
    await fresh.start();
    await eventually(async () => fresh.ready, 60_000);
    await replay(TOPICS.rolloutCommands, prepareCommitB);
    await eventually(async () => fresh.stats.stale >= prepareCommitB.length, 30_000, 20);
    expect(fresh.stats.executed).toBe(0);
    expect(backends[0].stagedLayers()).toEqual([]);
    for (const l of await held(backends[0])) expect(l.version).toBe(1);
  });

  it('a full copy of the database signs nothing: a command signed with what api_tokens and agent_keys hold is not run, an ack is not taken', { timeout: 120_000 }, async () => {
    const tokens: { token_hash: string }[] = await ds.query('SELECT token_hash FROM api_tokens');
    const enrolled: { public_key: string }[] = await ds.query('SELECT public_key FROM agent_keys WHERE deployment_id = $1', [id]);
    expect(tokens.length).toBeGreaterThan(0);
    expect(enrolled).toHaveLength(2);
    // everything an attacker can derive a key from: the token hashes (once the HMAC keys) and the public keys
    const secrets = [...tokens.map((t) => t.token_hash), ...enrolled.map((k) => k.public_key)];
    const now = Date.now();
    const [{ generation }] = (await ds.query('SELECT generation::int AS generation FROM rollout_fences WHERE deployment_id = $1', [id])) as { generation: number }[];
    const command = JSON.stringify({ v: 1, deployment: id, rolloutId: randomUUID(), rolloutSeq: 99, generation: generation + 1, expiresAt: now + ROLLOUT_MESSAGE_TTL_MS, command: { kind: 'commit', layer: 0, attempt: 1, agent: 0, ranks: [0, 1] }, sentAt: now });
    const heartbeat = JSON.stringify({ v: 1, type: 'heartbeat', deployment: id, node: 1, ranks: [2, 3], sentAt: now, expiresAt: now + ROLLOUT_MESSAGE_TTL_MS, lostRanks: [2] });
    // signatures in the header's format: HMAC-SHA512 under each secret (64 bytes, as Ed25519's), and an Ed25519 key of the attacker's own
    const forge = (value: string) => [
      ...secrets.map((k) => ({ key: id, value, headers: { [ROLLOUT_SIGNATURE_HEADER]: createHmac('sha512', k).update(value).digest('base64') } })),
      ...secrets.map((k) => ({ key: id, value, headers: { [ROLLOUT_SIGNATURE_HEADER]: createHash('sha512').update(k).update(value).digest('base64') } })),
      { key: id, value, headers: { [ROLLOUT_SIGNATURE_HEADER]: signRolloutMessage(generateKeyPairSync('ed25519').privateKey, value) } },
    ];
    const agent0 = runtimes[0];
    const service = rollout.get(RolloutService);
    const before = { invalid: agent0.stats.invalid, executed: agent0.stats.executed, dropped: service.stats.invalidMessages };
    const producer = await bus.producer({ compression: 'none' });
    await producer.send(TOPICS.rolloutCommands, forge(command));
    await producer.send(TOPICS.rolloutAcks, forge(heartbeat));
    await producer.close();
    const n = 2 * secrets.length + 1;
    await eventually(async () => agent0.stats.invalid >= before.invalid + n && service.stats.invalidMessages >= before.dropped + n, 30_000, 20);
    expect(agent0.stats.executed).toBe(before.executed);
    // the registry never heard node 1 report rank 2 lost
    const agents = (await http('GET', `${api.url}/v1/deployments/${id}/agents`, { token: OPERATOR })).body as { agents: { node: number; lostRanks?: number[] }[] };
    expect(agents.agents.find((x) => x.node === 1)?.lostRanks ?? []).toEqual([]);
  });
});
