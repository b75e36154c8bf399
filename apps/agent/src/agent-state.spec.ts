import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandExecutor, expectedChecksum, SimulatedBackend } from '@eplb/device';
import { DeploymentShape, planRollout, RolloutAgentCommand } from '@eplb/domain';
import { AgentStatePersistence, AgentStateStore } from './agent-state';

const BYTES = 512;
const shape: DeploymentShape = { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
const current = Array.from({ length: 3 }, (_, l) => Array.from({ length: 8 }, (_, p) => (p + l) % 8));
const target = Array.from({ length: 3 }, (_, l) => Array.from({ length: 8 }, (_, p) => (p * 3 + l + 1) % 8));
const plan = planRollout({ rolloutId: 'r1', deployment: 'dep', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: BYTES });

const dirs: string[] = [];
const open: SimulatedBackend[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'agent-state-'));
  dirs.push(d);
  return d;
};

let peers: Record<number, { host: string; port: number }> = {};
/** Both agents' backends on loopback, knowing each other. */
async function cluster(): Promise<SimulatedBackend[]> {
  const bs = [0, 1].map((a) => new SimulatedBackend({ shape, agent: a, map: current, version: 1, expertBytes: BYTES }));
  open.push(...bs);
  const ports = await Promise.all(bs.map((b) => b.listen(0)));
  for (const b of bs) b.setPeers(Object.fromEntries(ports.map((port, a) => [a, { host: '127.0.0.1', port }])));
  peers = Object.fromEntries(ports.map((port, a) => [a, { host: '127.0.0.1', port }]));
  return bs;
}

const prepare = (layer: number, agent: number, attempt = 1): RolloutAgentCommand => {
  const pl = plan.layers.find((x) => x.layer === layer)!;
  return { kind: 'prepare', layer, attempt, agent, part: pl.forward[agent] };
};
const commit = (layer: number, agent: number, attempt = 1): RolloutAgentCommand => ({ kind: 'commit', layer, attempt, agent, ranks: plan.layers[0].forward[agent].ranks });

/** What a restarted agent process does on start (agent.service.ts): a backend from the map file, then the saved state. */
function restart(dir: string, agent: number): { backend: SimulatedBackend; persistence: AgentStatePersistence; executor: CommandExecutor } {
  const store = new AgentStateStore(dir, 'dep', agent);
  const saved = store.load();
  const backend = new SimulatedBackend({ shape, agent, map: current, version: 1, expertBytes: BYTES });
  open.push(backend);
  if (saved?.backend) backend.restore(saved.backend);
  const persistence = new AgentStatePersistence(store, backend, saved);
  const executor = new CommandExecutor(backend, 'r1', agent, backend.ranks);
  const ledger = persistence.ledger('r1');
  if (ledger) executor.restore(ledger);
  return { backend, persistence, executor };
}

describe('AgentStateStore', () => {
  it('writes atomically (no temporary file left), loads what it wrote, and starts empty', async () => {
    const dir = tmp();
    const store = new AgentStateStore(dir, 'dep', 1);
    expect(store.load()).toBeNull();
    const b = new SimulatedBackend({ shape, agent: 1, map: current, version: 1, expertBytes: BYTES });
    const state = { v: 1 as const, deployment: 'dep', node: 1, savedAt: new Date().toISOString(), backend: b.snapshot(), ledgers: { r1: [[0, { attempt: 1, phase: 'prepared' as const }]] as [number, { attempt: number; phase: 'prepared' }][] } };
    await store.write(state);
    expect(readdirSync(dir)).toEqual(['agent-dep-node1.json']);
    expect(store.load()).toEqual(state);
    // a write that crashed before its rename leaves a temporary file: ignored and cleaned up
    writeFileSync(`${store.path}.tmp-1-2`, '{"half":');
    expect(store.load()).toEqual(state);
    expect(readdirSync(dir)).toEqual(['agent-dep-node1.json']);
  });

  it("refuses another agent's file and a damaged one", async () => {
    const dir = tmp();
    const b = new SimulatedBackend({ shape, agent: 0, map: current, version: 1, expertBytes: BYTES });
    await new AgentStateStore(dir, 'dep', 0).write({ v: 1, deployment: 'dep', node: 0, savedAt: '', backend: b.snapshot(), ledgers: {} });
    writeFileSync(join(dir, 'agent-dep-node1.json'), readFileSync(join(dir, 'agent-dep-node0.json')));
    expect(() => new AgentStateStore(dir, 'dep', 1).load()).toThrow(/is of dep node 0, not dep node 1/);
    writeFileSync(join(dir, 'agent-dep-node0.json'), '{"v":1,');
    expect(() => new AgentStateStore(dir, 'dep', 0).load()).toThrow(/is not JSON/);
  });
});

describe('AgentStatePersistence + CommandExecutor across a restart', () => {
  it('an agent restarted after acking a prepare reports the right holdings, replays the prepare ack and commits its staged buffers', async () => {
    const dir = tmp();
    const bs = await cluster();
    const stores = bs.map((b, a) => new AgentStatePersistence(new AgentStateStore(dir, 'dep', a), b));
    const exs = bs.map((b, a) => new CommandExecutor(b, 'r1', a, b.ranks));
    // layer 0 committed everywhere, layer 1 prepared everywhere; state saved after each (as the runtime does before acking)
    for (const [cmd, ok] of [[prepare, true], [commit, true]] as const) {
      const acks = await Promise.all(exs.map((ex, a) => ex.handle(cmd(0, a))));
      expect(acks.map((x) => x?.ok)).toEqual([ok, ok]);
      await Promise.all(stores.map((s, a) => s.save(new Map([['r1', exs[a]]]))));
    }
    expect((await Promise.all(exs.map((ex, a) => ex.handle(prepare(1, a))))).map((x) => x?.ok)).toEqual([true, true]);
    await Promise.all(stores.map((s, a) => s.save(new Map([['r1', exs[a]]]))));

    // agent 1 dies (kill -9): its process state is gone; its peer commits layer 1 meanwhile
    await bs[1].close();
    expect((await exs[0].handle(commit(1, 0)))?.ok).toBe(true);
    const { backend, executor } = restart(dir, 1);
    const held = (await backend.describe()).layers;
    expect(held.map((l) => l.version)).toEqual([2, 1, 1]);
    for (const lh of held) {
      for (const rh of lh.ranks) {
        const row = (lh.version === 2 ? target : current)[lh.layer].slice(rh.rank * 2, rh.rank * 2 + 2);
        expect(rh.experts).toEqual(row);
        expect(rh.checksums).toEqual(row.map((e) => expectedChecksum(lh.layer, e, BYTES)));
      }
    }
    expect(backend.stagedLayers()).toEqual([1]);
    // a resent prepare is answered from the ledger (not run again), a stale one dropped, the commit swaps
    expect(await executor.handle(prepare(1, 1))).toMatchObject({ phase: 'prepare', ok: true });
    expect(await executor.handle(prepare(0, 1))).toBeNull(); // layer 0's attempt 1 is committed: a late prepare of it is dropped
    const ack = await executor.handle(commit(1, 1));
    expect(ack).toMatchObject({ phase: 'commit', ok: true });
    expect(ack?.holdings?.version).toBe(2);
    for (const rh of ack!.holdings!.ranks) expect(rh.checksums).toEqual(target[1].slice(rh.rank * 2, rh.rank * 2 + 2).map((e) => expectedChecksum(1, e, BYTES)));
    expect(await executor.handle(commit(0, 1))).toMatchObject({ phase: 'commit', ok: true }); // a repeated commit answers again
    expect(backend.stagedLayers()).toEqual([]);
  });

  it('a prepare that was running when the agent died is run again when it is resent (not dropped as "already running")', async () => {
    const dir = tmp();
    const bs = await cluster();
    const persistence = new AgentStatePersistence(new AgentStateStore(dir, 'dep', 0), bs[0]);
    const ex = new CommandExecutor(bs[0], 'r1', 0, bs[0].ranks);
    bs[0].faults.delayMs = 200;
    const running = ex.handle(prepare(2, 0));
    // another command's save lands while the prepare runs: the ledger on disk says "preparing"
    await persistence.save(new Map([['r1', ex]]));
    expect(new AgentStateStore(dir, 'dep', 0).load()?.ledgers.r1).toEqual([[2, { attempt: 1, phase: 'preparing' }]]);
    await bs[0].close(); // dies mid-prepare
    await running.catch(() => undefined);
    const { backend, executor } = restart(dir, 0);
    backend.setPeers(peers);
    expect(plan.layers.find((x) => x.layer === 2)!.forward[0].receives.some((r) => r.source >= 2)).toBe(true); // it fetches from agent 1
    expect(backend.stagedLayers()).toEqual([]);
    const ack = await executor.handle(prepare(2, 0));
    expect(ack).toMatchObject({ phase: 'prepare', ok: true });
    expect(backend.stagedLayers()).toEqual([2]);
    // while it runs again, a duplicate is still dropped
    const slow = executor.handle(prepare(2, 0, 2));
    expect(await executor.handle(prepare(2, 0, 2))).toBeNull();
    expect(await slow).toMatchObject({ ok: true, attempt: 2 });
  });

  it('coalesces saves: every save resolves after a write that began after it was called', async () => {
    const dir = tmp();
    const b = new SimulatedBackend({ shape, agent: 0, map: current, version: 1, expertBytes: BYTES });
    const p = new AgentStatePersistence(new AgentStateStore(dir, 'dep', 0), b);
    const exs = Array.from({ length: 5 }, (_, k) => new CommandExecutor(b, `r${k}`, 0, b.ranks));
    const live = new Map<string, CommandExecutor>();
    await Promise.all(
      exs.map((ex) => {
        live.set(ex.rolloutId, ex);
        return p.save(live);
      }),
    );
    expect(p.writes).toBeLessThanOrEqual(3);
    expect(Object.keys(new AgentStateStore(dir, 'dep', 0).load()!.ledgers)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(existsSync(join(dir, 'agent-dep-node0.json'))).toBe(true);
  });
});
