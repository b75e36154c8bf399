import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient, expectedChecksum } from '@eplb/device';
import { DeploymentShape, planTransfers } from '@eplb/domain';
import { KafkajsBus } from '@eplb/messaging';
import { AgentBackend, createAgentBackend } from '../../apps/agent/src/agent-backend';
import { AgentRuntime } from '../../apps/agent/src/agent-runtime';
import { loadAgentSettings } from '../../apps/agent/src/agent-settings';
import { RolloutService } from '../../apps/rollout/src/rollout.service';
import { loadRolloutSettings } from '../../apps/rollout/src/rollout-settings';
import { agentKeys } from '../support/agent-keys';
import { eventually, RunningApp, startApi } from '../support/apps';
import { agentsLive, startRolloutApp } from '../support/rollout-app';
import { testConfig } from '../support/env';
import { registerDeployment } from '../support/deployments';
import { http, OPERATOR } from '../support/http';
import { BridgeProcess, startBridges, stopBridges } from '../support/torch-bridges';

interface Held {
  layer: number;
  version: number;
  rank: number;
  experts: number[];
  checksums: string[];
}
interface Hello {
  staged: number[];
  preparing: number[];
  stats: { bytes_received: number; bytes_sent: number };
}

/**
 * The torch backend on the real stack: 2 nodes × 2 ranks, each rank a bridge process
 * (python/eplb_bridge) holding real weight tensors (8 layers × 16 experts, w13 and w2 per expert)
 * in one gloo process group; 2 agents with AGENT_BACKEND=torch drive them for the rollout service.
 * Every expected checksum is computed here from the expert ids (the weights.ts stream), never
 * read from a bridge.
 */
describe('torch bridge: rollouts move real tensors with torch.distributed (gloo)', () => {
  const config = testConfig();
  const settings = loadRolloutSettings({ ROLLOUT_TICK_MS: '20', ROLLOUT_POLL_MS: '100', ROLLOUT_RESEND_MS: '2000', ROLLOUT_PREPARE_TIMEOUT_MS: '60000', ROLLOUT_COMMIT_TIMEOUT_MS: '30000', ROLLOUT_CONTROL_PORT: '0' });
  const bus = new KafkajsBus({ brokers: config.KAFKA_BROKERS, clientId: 'test-torch-agents' });
  const shape: DeploymentShape = { numLayers: 8, numExperts: 16, numRanks: 4, slotsPerRank: 5, numNodes: 2 };
  const S = shape.slotsPerRank;
  const P = shape.numRanks * S;
  const WEIGHTS = 'w13:64x32,w2:32x32'; // float16: 4096 + 2048 bytes per expert
  const BYTES = 64 * 32 * 2 + 32 * 32 * 2;
  const current = Array.from({ length: 8 }, (_, l) => Array.from({ length: P }, (_, p) => (p + l) % 16));
  const target = Array.from({ length: 8 }, (_, l) => Array.from({ length: P }, (_, p) => (p * 5 + 3 * l + 1) % 16));
  const dir = mkdtempSync(join(tmpdir(), 'eplb-torch-'));
  const id = `torch-${randomUUID().slice(0, 8)}`;
  let api: RunningApp;
  let rollout: INestApplication;
  let bridges: BridgeProcess[] = [];
  let agents: AgentBackend[] = [];
  /** The agents' own log on stderr when TEST_LOG_LEVEL asks for logs (a stalled rollout is read from it). */
  const agentLog = (node: number) =>
    (process.env.TEST_LOG_LEVEL ?? 'silent') === 'silent'
      ? {}
      : { log: (level: string, msg: string, extra?: object) => void process.stderr.write(`[agent ${node}] ${level} ${msg} ${JSON.stringify(extra ?? {})}\n`) };
  const runtimes: AgentRuntime[] = [];
  /** The test's own connections to the bridges: it reads what the ranks serve, as the engine would. */
  const probes: BridgeClient[] = [];

  beforeAll(async () => {
    [api, bridges] = await Promise.all([startApi(config), startBridges({ dir, shape, map: current, version: 1, weights: WEIGHTS })]);
    rollout = (await startRolloutApp(config, settings)).app;
    await registerDeployment(api, {
      id,
      shape,
      initialMap: current,
      expertBytes: BYTES,
      versions: [
        { map: target, reason: 'proposal approved' },
        { map: current, reason: 'back to the start' },
      ],
    });
    const mapFile = { shape, version: 1, physicalToLogical: current };
    agents = [0, 1].map((node) =>
      createAgentBackend(
        loadAgentSettings({
          AGENT_BACKEND: 'torch',
          AGENT_NODE: String(node),
          AGENT_BRIDGE_SOCKETS: bridges.map((b) => `${b.rank}=${b.socket}`).join(','),
          AGENT_BRIDGE_PREPARE_TIMEOUT_MS: '30000',
        }),
        mapFile,
      ),
    );
    await Promise.all(agents.map((a) => a.start()));
    const service = rollout.get(RolloutService);
    const control = { endpoints: [{ host: '127.0.0.1', port: service.controlChannelPort }] };
    const rts = agents.map((a, node) => new AgentRuntime({ deployment: id, node, ranks: a.ranks, backend: a.backend, bus, groupPrefix: config.KAFKA_GROUP_PREFIX, token: OPERATOR, keys: agentKeys(), control, ...agentLog(node) }));
    runtimes.push(...rts);
    await Promise.all(rts.map((rt) => rt.start()));
    await eventually(async () => rts.every((rt) => rt.ready && rt.controlConnected), 60_000);
    await agentsLive(api.url, id, OPERATOR);
    probes.push(...bridges.map((b) => new BridgeClient(b.rank, b.socket)));
  });

  afterAll(async () => {
    for (const p of probes) p.close();
    await Promise.all(runtimes.map((r) => r.close()));
    await Promise.all(agents.map((a) => a.close()));
    await stopBridges(bridges);
    await bus.close();
    await rollout?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (rid: string) => (await http('GET', `${api.url}/v1/deployments/${id}/rollouts/${rid}`, { token: OPERATOR })).body;
  const start = async (mapVersion: number, extra: Record<string, unknown> = {}): Promise<string> => {
    const r = await http('POST', `${api.url}/v1/deployments/${id}/rollouts`, { token: OPERATOR, body: { mapVersion, reason: 'torch test', ...extra } });
    expect(r.status).toBe(202);
    return r.body.rolloutId as string;
  };
  const finished = (rid: string, timeoutMs = 150_000) =>
    eventually(async () => {
      const s = await status(rid);
      return ['SUCCEEDED', 'ROLLED_BACK', 'ABORTED', 'FAILED', 'REJECTED'].includes(s.status) ? s : null;
    }, timeoutMs, 200);
  const describeRank = async (c: BridgeClient): Promise<Held[]> => (await c.request<{ layers: Held[] }>('describe', {})).layers;

  /** Every listed rank holds, per layer, `want`'s rows on `versions`, with the checksums the expert ids imply. */
  async function expectHoldings(ranks: number[], want: number[][], versions: number[]): Promise<void> {
    for (const r of ranks) {
      for (const h of await describeRank(probes[r])) {
        const row = want[h.layer].slice(r * S, r * S + S);
        expect([h.layer, h.version, h.experts]).toEqual([h.layer, versions[h.layer], row]);
        expect(h.checksums).toEqual(row.map((e) => expectedChecksum(h.layer, e, BYTES)));
      }
      // nothing staged; a transfer its peers had agreed to is drained to its end before it is dropped
      await eventually(async () => {
        const hello = await probes[r].request<Hello>('hello', {});
        return hello.staged.length === 0 && hello.preparing.length === 0;
      }, 60_000, 100);
    }
  }

  /**
   * Reads every rank's serving tensors while `until` is false; each observation of a layer that
   * is being prepared or is staged (not committed) must show the old map's experts and checksums.
   * Returns how many such observations there were.
   */
  async function watchServing(old: number[][], oldVersion: number, until: () => boolean): Promise<number> {
    let duringPrepare = 0;
    while (!until()) {
      for (const [r, c] of probes.entries()) {
        const [hello, held] = await Promise.all([c.request<Hello>('hello', {}), describeRank(c)]).catch(() => [null, null] as const);
        if (!hello || !held) continue;
        for (const l of [...hello.preparing, ...hello.staged]) {
          const h = held[l];
          // staged, not committed: the live tensors are still the old expert's bytes
          if (h.version !== oldVersion) continue; // committed between the two reads
          const row = old[l].slice(r * S, r * S + S);
          expect(h.experts).toEqual(row);
          expect(h.checksums).toEqual(row.map((e) => expectedChecksum(l, e, BYTES)));
          duringPrepare++;
        }
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    return duringPrepare;
  }

  it('a rollout moves real tensors across ranks and nodes; serving tensors are untouched until the commit; afterwards every rank holds what the new map implies', async () => {
    const plan = planTransfers(shape, current, target);
    const links = new Set(plan.layers.flatMap((l) => l.receives.flat().map((x) => x.link)));
    expect([...links].sort()).toEqual(['local', 'node', 'remote']);
    const before = await Promise.all(probes.map((c) => c.request<Hello>('hello', {})));
    // a cap so each layer's prepare takes a while and the serving tensors can be read meanwhile
    const rid = await start(2, { bytesPerSecond: 120_000 });
    let done = false;
    const watching = watchServing(current, 1, () => done);
    const s = await finished(rid).finally(() => (done = true));
    const observed = await watching;
    expect(s.status).toBe('SUCCEEDED');
    expect(s.layers.map((l: { status: string; version: number; verifyError: string | null }) => [l.status, l.version, l.verifyError])).toEqual(
      Array.from({ length: 8 }, () => ['COMMITTED', 2, null]),
    );
    expect(observed).toBeGreaterThan(0);
    await expectHoldings([0, 1, 2, 3], target, Array.from({ length: 8 }, () => 2));
    // every rank received weights over P2P and every rank sent some
    const after = await Promise.all(probes.map((c) => c.request<Hello>('hello', {})));
    after.forEach((h, r) => {
      expect(h.stats.bytes_received).toBeGreaterThan(before[r].stats.bytes_received);
      expect(h.stats.bytes_sent).toBeGreaterThan(before[r].stats.bytes_sent);
    });
  });

  it('an abort mid-prepare with rollback: the layer being prepared is dropped, the committed layers are moved back, every rank on the old map', async () => {
    // at the default layer window: abort once two layers committed while later layers are being
    // prepared (several at once, their transfers between the same ranks in flight together)
    const rid = await start(3, { bytesPerSecond: 60_000 });
    await eventually(async () => {
      const s = await status(rid);
      const committed = s.layers.filter((l: { status: string }) => l.status === 'COMMITTED').length;
      if (committed < 2) return false;
      const hellos = await Promise.all(probes.map((c) => c.request<Hello>('hello', {})));
      return hellos.some((h) => h.preparing.length > 0);
    }, 120_000, 50);
    const ab = await http('POST', `${api.url}/v1/deployments/${id}/rollouts/${rid}/abort`, { token: OPERATOR, body: { reason: 'abort mid-prepare', rollback: true } });
    expect(ab.status).toBe(202);
    const s = await finished(rid);
    expect(s.status).toBe('ROLLED_BACK');
    const statuses = s.layers.map((l: { status: string }) => l.status) as string[];
    expect(statuses.filter((x) => x === 'ROLLED_BACK').length).toBeGreaterThanOrEqual(2);
    expect(statuses).toContain('ABORTED');
    expect(statuses.every((x) => ['ROLLED_BACK', 'ABORTED', 'PENDING'].includes(x))).toBe(true);
    await expectHoldings([0, 1, 2, 3], target, Array.from({ length: 8 }, () => 2));
  });

  it('a bridge process killed mid-prepare: the layer is aborted, the other ranks keep the old map and stage nothing, the agent reports the rank lost', async () => {
    // at the default layer window: the kill lands in the first layers' prepares, nothing committed yet
    const rid = await start(3, { bytesPerSecond: 30_000 });
    await eventually(async () => {
      const h = await probes[3].request<Hello>('hello', {});
      return h.preparing.length > 0;
    }, 120_000, 20);
    bridges[3].proc.kill('SIGKILL');
    await bridges[3].exited;
    const s = await finished(rid);
    expect(['ROLLED_BACK', 'ABORTED', 'FAILED']).toContain(s.status);
    expect(s.layers.some((l: { status: string }) => l.status === 'ABORTED')).toBe(true);
    expect(s.layers.every((l: { status: string }) => l.status !== 'COMMITTED')).toBe(true);
    // the first failed prepare ack decides: agent 1 naming its lost rank, a peer whose P2P connection to it reset,
    // (on a loaded machine, when rank 3 had staged its own part before the kill) a peer that waited for it in vain,
    // or a peer of rank 2, which agent 1 aborted with its lost rank, naming that abort
    expect(s.failure.reason).toMatch(/layer \d+: agent [01] failed to prepare: (rank\(s\) 3 lost|rank \d: .*(Connection|closed|reset)|rank \d: .*rank\(s\) 3 did not join|rank \d: .*rank 2 gave it up \(its layer was aborted\))/);
    await expectHoldings([0, 1, 2], target, Array.from({ length: 8 }, () => 2));
    expect(agents[1].backend.lostRanks?.()).toEqual([3]);
    expect(agents[0].backend.lostRanks?.()).toEqual([]);
  });
});
