import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DeploymentShape, LayerHoldings, planRollout, RolloutPlan, verifyHoldings } from '@eplb/domain';
import { SimulatedBackend, SimulatedBackendOptions } from './simulated-backend';
import { expectedChecksum, weightManifest } from './weights';

const BYTES = 2048;
const open: SimulatedBackend[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function randomMaps(shape: DeploymentShape, seed: number): { current: number[][]; next: number[][] } {
  const rnd = rng(seed);
  const P = shape.numRanks * shape.slotsPerRank;
  const E = shape.numExperts;
  const row = (): number[] => {
    const r = Array.from({ length: P }, (_, p) => (p < E ? p : Math.floor(rnd() * E)));
    for (let i = P - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [r[i], r[j]] = [r[j], r[i]];
    }
    return r;
  };
  return { current: Array.from({ length: shape.numLayers }, row), next: Array.from({ length: shape.numLayers }, row) };
}

/** One backend per node, each listening on an ephemeral loopback port, all knowing each other. */
async function startCluster(shape: DeploymentShape, map: number[][], extra: Partial<SimulatedBackendOptions> = {}): Promise<SimulatedBackend[]> {
  const backends = Array.from({ length: shape.numNodes }, (_, agent) => new SimulatedBackend({ shape, agent, map, version: 1, expertBytes: BYTES, ...extra }));
  open.push(...backends);
  const ports = await Promise.all(backends.map((b) => b.listen(0)));
  const peers = Object.fromEntries(ports.map((port, a) => [a, { host: '127.0.0.1', port }]));
  for (const b of backends) b.setPeers(peers);
  return backends;
}

async function holdings(backends: SimulatedBackend[], layer: number): Promise<LayerHoldings[]> {
  return Promise.all(backends.map(async (b) => (await b.describe([layer])).layers[0]));
}

/** Every rank holds exactly the weights `map` says for every layer (checksums of the bytes). */
async function expectHolds(backends: SimulatedBackend[], shape: DeploymentShape, map: number[][]): Promise<void> {
  const S = shape.slotsPerRank;
  for (const b of backends) {
    for (const lh of (await b.describe()).layers) {
      for (const rh of lh.ranks) {
        const want = map[lh.layer].slice(rh.rank * S, rh.rank * S + S);
        expect(rh.experts, `layer ${lh.layer} rank ${rh.rank}`).toEqual(want);
        expect(rh.checksums).toEqual(want.map((e) => expectedChecksum(lh.layer, e, BYTES)));
      }
    }
  }
}

/** Runs every layer of the plan: prepare on all agents in parallel, then commit on all. */
async function rollLayers(backends: SimulatedBackend[], plan: RolloutPlan, dir: 'forward' | 'inverse', order = plan.layers): Promise<void> {
  for (const pl of order) {
    await Promise.all(backends.map((b, a) => b.prepare(pl.layer, pl[dir][a])));
    await Promise.all(backends.map((b) => b.commit(pl.layer)));
  }
}

const shapes: DeploymentShape[] = [
  { numLayers: 3, numExperts: 12, numRanks: 8, slotsPerRank: 2, numNodes: 2 },
  { numLayers: 2, numExperts: 10, numRanks: 6, slotsPerRank: 3, numNodes: 3 },
  { numLayers: 2, numExperts: 7, numRanks: 4, slotsPerRank: 3, numNodes: 4 },
];

describe('SimulatedBackend over loopback TCP', () => {
  it('after commit every rank holds the new map; after the inverse plan the original (random maps, real sockets)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...shapes), fc.integer({ min: 1, max: 2 ** 30 }), async (shape, seed) => {
        const { current, next } = randomMaps(shape, seed);
        const manifest = weightManifest(shape.numLayers, shape.numExperts, BYTES);
        const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
        const backends = await startCluster(shape, current);
        try {
          await expectHolds(backends, shape, current);
          await rollLayers(backends, plan, 'forward');
          await expectHolds(backends, shape, next);
          for (const pl of plan.layers) {
            const reps = await holdings(backends, pl.layer);
            expect(verifyHoldings(shape, { version: 2, row: next[pl.layer] }, reps, manifest[pl.layer])).toBeNull();
          }
          // weights really crossed the sockets: what was sent is what was received, as planned
          const sent = backends.reduce((s, b) => s + b.traffic.sent, 0);
          expect(sent).toBe(backends.reduce((s, b) => s + b.traffic.received, 0));
          expect(sent).toBe(plan.layers.reduce((s, pl) => s + pl.forward.reduce((x, p) => x + p.bytesIn, 0), 0));
          await rollLayers(backends, plan, 'inverse', plan.layers.slice().reverse());
          await expectHolds(backends, shape, current);
          for (const b of backends) expect((await b.describe()).layers.every((l) => l.version === 1 || !plan.layers.some((p) => p.layer === l.layer))).toBe(true);
        } finally {
          await Promise.all(backends.map((b) => b.close()));
        }
      }),
      { numRuns: 8 },
    );
  });

  it('abort after prepare leaves the old weights; a repeated commit is a no-op; commit without prepare fails', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 42);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current);
    const pl = plan.layers[0];
    await Promise.all(backends.map((b, a) => b.prepare(pl.layer, pl.forward[a])));
    expect(backends.some((b) => b.stagedLayers().includes(pl.layer))).toBe(true);
    await Promise.all(backends.map((b) => b.abort(pl.layer)));
    expect(backends.map((b) => b.stagedLayers())).toEqual(backends.map(() => []));
    await expectHolds(backends, shape, current);
    await expect(backends[0].commit(pl.layer)).rejects.toThrow(/nothing staged/);
    await rollLayers(backends, plan, 'forward', [pl]);
    await Promise.all(backends.map((b) => b.commit(pl.layer))); // delivered twice
    const expected = current.map((row, l) => (l === pl.layer ? next[l] : row));
    await expectHolds(backends, shape, expected);
  });

  it('staging belongs to its rollout: another rollout\'s abort leaves it staged, its commit is refused; its own abort drops it', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 43);
    const plan = planRollout({ rolloutId: 'r2', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current);
    const pl = plan.layers[0];
    await Promise.all(backends.map((b, a) => b.prepare(pl.layer, pl.forward[a], { rolloutId: 'r2' })));
    const staged = backends.map((b) => b.stagedLayers());
    expect(staged.some((l) => l.includes(pl.layer))).toBe(true);
    // a late (or replayed) abort of the previous rollout
    await Promise.all(backends.map((b) => b.abort(pl.layer, 'r1')));
    expect(backends.map((b) => b.stagedLayers())).toEqual(staged);
    const holder = backends.find((b) => b.stagedLayers().includes(pl.layer)) as SimulatedBackend;
    await expect(holder.commit(pl.layer, 'r1')).rejects.toThrow(`layer ${pl.layer} is staged for rollout r2, not r1`);
    expect(holder.snapshot().staged.map((x) => x.rolloutId)).toEqual(['r2']);
    await Promise.all(backends.map((b) => b.abort(pl.layer, 'r2')));
    expect(backends.map((b) => b.stagedLayers())).toEqual(backends.map(() => []));
    await expectHolds(backends, shape, current);
  });

  it('refuses a part meant for another agent (an agent cannot act for another rank)', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 7);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current);
    const pl = plan.layers[0];
    await expect(backends[0].prepare(pl.layer, pl.forward[1])).rejects.toThrow(/given to agent 0/);
    await expect(backends[0].prepare(pl.layer, { ...pl.forward[0], receives: pl.forward[1].receives })).rejects.toThrow(/is not on a rank of agent 0/);
    expect(backends[0].stagedLayers()).toEqual([]);
  });

  it('injected faults: failing prepare, dropped connection, corrupted buffer, delay; abort restores the old weights', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 99);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const manifest = weightManifest(shape.numLayers, shape.numExperts, BYTES);
    const backends = await startCluster(shape, current);
    // a layer where agent 0 fetches from agent 1
    const pl = plan.layers.find((p) => p.forward[1].sends.length > 0) as RolloutPlan['layers'][number];
    expect(pl).toBeDefined();
    const prepareAll = () => Promise.allSettled(backends.map((b, a) => b.prepare(pl.layer, pl.forward[a])));

    backends[1].faults.failPrepareLayers = [pl.layer];
    let res = await prepareAll();
    expect(res[1].status).toBe('rejected');
    expect(String((res[1] as PromiseRejectedResult).reason)).toMatch(/injected fault/);
    await Promise.all(backends.map((b) => b.abort(pl.layer)));
    await expectHolds(backends, shape, current);
    backends[1].faults.failPrepareLayers = [];

    backends[1].faults.dropConnectionLayers = [pl.layer]; // agent 1 serves agent 0's fetch, and drops it
    res = await prepareAll();
    expect(res[0].status).toBe('rejected');
    expect(String((res[0] as PromiseRejectedResult).reason)).toMatch(/peer closed|ECONNRESET|EPIPE/);
    await Promise.all(backends.map((b) => b.abort(pl.layer)));
    await expectHolds(backends, shape, current);
    backends[1].faults.dropConnectionLayers = [];

    backends[0].faults.delayMs = 60;
    const t0 = Date.now();
    await prepareAll();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    // an abort during a running prepare stops it: nothing is staged
    const p = backends[0].prepare(pl.layer, pl.forward[0]);
    await backends[0].abort(pl.layer);
    await expect(p).rejects.toThrow(/aborted/);
    expect(backends[0].stagedLayers()).toEqual([]);
    backends[0].faults.delayMs = 0;
    await Promise.all(backends.map((b) => b.abort(pl.layer)));
    await expectHolds(backends, shape, current);
    backends[0].faults.corruptLayers = [pl.layer];
    await prepareAll();
    await Promise.all(backends.map((b) => b.commit(pl.layer)));
    const bad = verifyHoldings(shape, { version: 2, row: next[pl.layer] }, await holdings(backends, pl.layer), manifest[pl.layer]);
    expect(bad).toMatch(/checksum of expert \d+ is [0-9a-f]{64}, manifest says/);
    // note: a rollback would read its sources from the layer as committed, corrupted slot included
  });

  it('caps the bytes a backend sends per second', async () => {
    const shape: DeploymentShape = { numLayers: 1, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
    // node 0 holds experts 0..3, node 1 holds 4..7; the target swaps them all: 4 experts each way
    const current = [[0, 1, 2, 3, 4, 5, 6, 7]];
    const next = [[4, 5, 6, 7, 0, 1, 2, 3]];
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current, { bytesPerSecond: 40_000 });
    const t0 = Date.now();
    await rollLayers(backends, plan, 'forward');
    const ms = Date.now() - t0;
    // each side sends 4 × 2048 bytes at 40 kB/s ≈ 205 ms
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(2000);
    await expectHolds(backends, shape, next);
  });

  it('caps the bytes one prepare takes in per second when the rollout asks for it', async () => {
    const shape: DeploymentShape = { numLayers: 1, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
    const current = [[0, 1, 2, 3, 4, 5, 6, 7]];
    const next = [[4, 5, 6, 7, 0, 1, 2, 3]];
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current);
    const t0 = Date.now();
    // each side takes in 4 × 2048 bytes at 40 kB/s, in one fetch sent when the cap has let them in (≈ 205 ms)
    await Promise.all(backends.map((b, a) => b.prepare(0, plan.layers[0].forward[a], { bytesPerSecond: 40_000 })));
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(140);
    // one fetch and one answer each way: all a layer needs from a peer in one request, under the cap too
    expect(backends.map((b) => b.traffic.answers)).toEqual([1, 1]);
    expect(backends.map((b) => b.traffic.fetches)).toEqual([4, 4]);
    await Promise.all(backends.map((b) => b.commit(0)));
    await expectHolds(backends, shape, next);
  });

  it('holds several layers staged at once (a rollout window); together their prepares stay within the cap', async () => {
    const shape: DeploymentShape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 2, numNodes: 2 };
    const current = [
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3, 4, 5, 6, 7],
    ];
    const next = current.map(() => [4, 5, 6, 7, 0, 1, 2, 3]);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current);
    const t0 = Date.now();
    // each side takes in 2 layers × 4 × 2048 bytes at 40 kB/s, a fetch per layer, the second when the cap has let both in (≈ 410 ms)
    await Promise.all(plan.layers.flatMap((pl) => backends.map((b, a) => b.prepare(pl.layer, pl.forward[a], { bytesPerSecond: 40_000, rolloutId: 'r' }))));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(330);
    // both staged: committing one leaves the other staged, then it commits too
    await Promise.all(backends.map((b) => b.commit(0, 'r')));
    await Promise.all(backends.map((b) => b.commit(1, 'r')));
    await expectHolds(backends, shape, next);
  });

  it('connects to loopback peers only', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 5);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const b = new SimulatedBackend({ shape, agent: 0, map: current, version: 1, expertBytes: BYTES });
    open.push(b);
    b.setPeers({ 1: { host: '10.0.0.1', port: 1 } });
    const pl = plan.layers.find((p) => p.forward[0].receives.some((r) => r.link === 'remote'));
    if (pl) await expect(b.prepare(pl.layer, pl.forward[0])).rejects.toThrow(/loopback only/);
  });
});

describe('SimulatedBackend snapshot / restore (device memory outlives the agent process)', () => {
  /** A fresh backend of `agent` started from `map` (as a restarted agent process would), serving peers on a new port. */
  async function restarted(shape: DeploymentShape, agent: number, map: number[][]): Promise<SimulatedBackend> {
    const b = new SimulatedBackend({ shape, agent, map, version: 1, expertBytes: BYTES });
    open.push(b);
    await b.listen(0);
    return b;
  }

  it('round-trips committed layers, versions and staged buffers through JSON; a restored backend commits what was staged', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 11);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const backends = await startCluster(shape, current);
    const [first, second] = plan.layers;
    await rollLayers(backends, plan, 'forward', [first]);
    await Promise.all(backends.map((b, a) => b.prepare(second.layer, second.forward[a])));
    const before = await Promise.all(backends.map((b) => b.describe()));
    const snaps = backends.map((b) => JSON.parse(JSON.stringify(b.snapshot())));
    // pristine weights are described by expert and checksum only: no bytes in the snapshot
    expect(JSON.stringify(snaps)).not.toContain('"bytes"');
    // agent 0 "restarts": the map file says version 1 everywhere, the snapshot says otherwise
    const again = await restarted(shape, 0, current);
    again.restore(snaps[0]);
    expect(await again.describe()).toEqual(before[0]);
    expect(again.stagedLayers()).toEqual(backends[0].stagedLayers());
    expect(again.snapshot()).toEqual(snaps[0]);
    // the old agent 0 is gone: its peers commit, and so does the restored one, from its staged buffers alone
    await backends[0].close();
    await Promise.all([again, backends[1]].map((b) => b.commit(second.layer)));
    const want = current.map((row, l) => (l === first.layer || l === second.layer ? next[l] : row));
    await expectHolds([again, backends[1]], shape, want);
    // a repeated commit after the restore is still a no-op
    await again.commit(first.layer);
    await expectHolds([again], shape, want);
  });

  it('keeps a corrupted buffer corrupted (its bytes travel in the snapshot) and refuses snapshots that do not fit', async () => {
    const shape = shapes[0];
    const { current, next } = randomMaps(shape, 99);
    const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target: next, expertBytes: BYTES });
    const manifest = weightManifest(shape.numLayers, shape.numExperts, BYTES);
    const backends = await startCluster(shape, current);
    const pl = plan.layers.find((p) => p.forward[0].receives.length > 0) as RolloutPlan['layers'][number];
    backends[0].faults.corruptLayers = [pl.layer];
    await Promise.all(backends.map((b, a) => b.prepare(pl.layer, pl.forward[a])));
    const snap = JSON.parse(JSON.stringify(backends[0].snapshot()));
    expect(JSON.stringify(snap.staged)).toContain('"bytes"');
    const again = await restarted(shape, 0, current);
    again.restore(snap);
    await again.commit(pl.layer);
    const bad = verifyHoldings(shape, { version: 2, row: next[pl.layer] }, [(await again.describe([pl.layer])).layers[0]], manifest[pl.layer]);
    expect(bad).toMatch(/checksum of expert \d+ is [0-9a-f]{64}, manifest says/);

    const other = await restarted(shape, 1, current);
    expect(() => other.restore(snap)).toThrow(/snapshot is of agent 0, not 1/);
    const small = new SimulatedBackend({ shape: { ...shape, numExperts: shape.numExperts + 1 }, agent: 0, map: current, version: 1, expertBytes: BYTES });
    expect(() => small.restore(snap)).toThrow(/numExperts/);
    const tampered = JSON.parse(JSON.stringify(snap));
    tampered.layers[0].ranks[0].slots[0].expert = (tampered.layers[0].ranks[0].slots[0].expert + 1) % shape.numExperts;
    const fresh = await restarted(shape, 0, current);
    const untouched = await fresh.describe();
    expect(() => fresh.restore(tampered)).toThrow(/do not match the recorded checksum/);
    expect(await fresh.describe()).toEqual(untouched); // all or nothing
  });
});
