import { describe, expect, it } from 'vitest';
import type { HeatEventV1 } from '@eplb/contracts';
import { roundRobinMap } from '@eplb/domain';
import { parseSimArgs } from './sim-options';
import { CommittedMapReader, CommittedMapSource } from './map-source';
import { runSimulation } from './run';

const shape = { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
const v1 = roundRobinMap(shape);
const v2 = v1.map((row) => row.map((e) => (e + 3) % 8));

/** A reader over a mutable committed-versions array, counting map fetches. */
function reader(committed: number[], maps: Record<number, number[][]> = { 1: v1, 2: v2 }) {
  const r = {
    committed,
    fetched: [] as number[],
    fail: null as string | null,
    async committedVersions() {
      if (r.fail) throw new Error(r.fail);
      return r.committed.slice();
    },
    async mapVersion(v: number) {
      r.fetched.push(v);
      return maps[v] ?? null;
    },
  };
  return r satisfies CommittedMapReader;
}

describe('CommittedMapSource', () => {
  it('puts each layer on the version it committed, fetching each version once', async () => {
    const rd = reader([1, 1, 1]);
    const src = new CommittedMapSource(shape, rd);
    expect(() => src.current()).toThrow(/refresh/);
    await src.refresh();
    expect(src.current().version).toBe(1);
    expect(src.current().layers.map((m) => m.physicalToLogical)).toEqual(v1);
    rd.committed[1] = 2; // layer 1 committed version 2
    await src.refresh();
    expect(src.current().version).toBe(2);
    expect(src.current().layers.map((m) => m.version)).toEqual([1, 2, 1]);
    expect(src.current().layers[1].physicalToLogical).toEqual(v2[1]);
    expect(src.current().layers[0].physicalToLogical).toEqual(v1[0]);
    rd.committed.splice(0, 3, 2, 2, 2);
    await src.refresh();
    await src.refresh();
    expect(src.current().layers.map((m) => m.physicalToLogical)).toEqual(v2);
    expect(rd.fetched).toEqual([1, 2]);
  });

  it('keeps the snapshot object while nothing changes', async () => {
    const src = new CommittedMapSource(shape, reader([1, 2, 1]));
    await src.refresh();
    const a = src.current();
    await src.refresh();
    expect(src.current()).toBe(a);
  });

  it('fails the first refresh loudly, later ones quietly keeping the maps in force', async () => {
    const rd = reader([1, 1, 1]);
    rd.fail = 'API unreachable';
    const errors: string[] = [];
    const src = new CommittedMapSource(shape, rd, (m) => errors.push(m));
    await expect(src.refresh()).rejects.toThrow(/API unreachable/);
    rd.fail = null;
    await src.refresh();
    rd.fail = 'API unreachable';
    rd.committed[0] = 2;
    await src.refresh();
    expect(src.current().layers.map((m) => m.version)).toEqual([1, 1, 1]);
    expect(errors).toEqual(['map source: API unreachable; layers stay on their maps']);
  });

  it('refuses versions that do not exist or do not fit the shape', async () => {
    await expect(new CommittedMapSource(shape, reader([1, 3, 1])).refresh()).rejects.toThrow(/map version 3 does not exist/);
    await expect(new CommittedMapSource(shape, reader([1, 1])).refresh()).rejects.toThrow(/name 2 layers, the deployment has 3/);
    await expect(new CommittedMapSource(shape, reader([1, 1, 1], { 1: v1.map((r) => r.slice(1)) })).refresh()).rejects.toThrow(/not 3 layers × 12 slots/);
  });

  it('drives the simulation: events carry per-layer versions that change as layers commit', async () => {
    const o = parseSimArgs('--deployment sim-a --steps 30 --map-refresh-ms 10 --map-source db'.split(' '), { token: 'x' });
    if (o === 'help') throw new Error('help');
    const rd = reader([1, 1, 1]);
    const src = new CommittedMapSource(shape, rd);
    await src.refresh();
    let t = 0;
    const events: HeatEventV1[] = [];
    const changes: [number, number][] = [];
    await runSimulation(o, shape, {
      mapSource: src,
      // one step = 1 ms: layer 2 commits at 10 ms, layers 0 and 1 at 20 ms
      now: () => t,
      publish: async (e) => {
        events.push(e);
        if (e.rank === 3) {
          t++;
          if (t === 10) rd.committed[2] = 2;
          if (t === 20) rd.committed.splice(0, 2, 2, 2);
        }
      },
      onMapChange: (l, v) => changes.push([l, v]),
    });
    const byStep = new Map(events.filter((e) => e.rank === 0).map((e) => [e.step, e]));
    expect(byStep.get(5)).toMatchObject({ mapVersion: 1, layerVersions: null });
    expect(byStep.get(15)).toMatchObject({ mapVersion: 2, layerVersions: [1, 1, 2] });
    expect(byStep.get(25)).toMatchObject({ mapVersion: 2, layerVersions: null });
    expect(changes).toEqual([[2, 2], [0, 2], [1, 2]]);
  });
});
