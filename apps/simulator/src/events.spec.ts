import { describe, expect, it } from 'vitest';
import { heatEventV1Schema, HeatEventV1 } from '@eplb/contracts';
import { checkAgainstDeployment } from '@eplb/contracts';
import { ClusterSimulator, RouterModel, roundRobinMap } from '@eplb/domain';
import { parseSimArgs } from './sim-options';
import { EventBuilder } from './events';
import { StaticMapSource, versionsOf } from './map-source';
import { runSimulation } from './run';

const shape = { numLayers: 3, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
const model = () => new RouterModel({ numLayers: 3, numExperts: 8, tokensPerStep: 64, topK: 2, seed: 5 });
const rr = roundRobinMap(shape).map((row) => ({ version: 1, physicalToLogical: row }));
const builder = (stepsPerEvent: number) =>
  new EventBuilder({ deployment: 'sim-a', numLayers: 3, numRanks: 4, slotsPerRank: 3, phase: 'decode', stepsPerEvent, startStep: 1000, now: () => new Date('2026-11-23T06:00:00Z') });

describe('EventBuilder', () => {
  it('emits one valid event per rank per step, carrying the rank slices of the slot loads', () => {
    const sim = new ClusterSimulator(shape, model(), rr);
    const b = builder(1);
    const step = sim.next();
    const events = b.add(step);
    expect(events).toHaveLength(4);
    for (const e of events) {
      expect(heatEventV1Schema.parse(e)).toEqual(e);
      expect(checkAgainstDeployment(e, { numLayers: 3, numRanks: 4, slotsPerRank: 3, latestMapVersion: 1 }, Date.parse(e.ts), 30)).toBeNull();
      expect(e).toMatchObject({ deployment: 'sim-a', step: 1000, steps: 1, mapVersion: 1, layerVersions: null, ts: '2026-11-23T06:00:00.000Z' });
      for (let l = 0; l < 3; l++) expect(e.load[l]).toEqual(Array.from(step.slots.subarray(l * 12 + e.rank * 3, l * 12 + e.rank * 3 + 3)));
    }
    // Every pick of the step is in exactly one event.
    const total = events.reduce((s, e) => s + e.load.flat().reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(3 * 64 * 2);
    expect(b.add(sim.next())[0].step).toBe(1001);
  });

  it('sums K steps per event, and emits the partial window at the end', () => {
    const sim = new ClusterSimulator(shape, model(), rr);
    const ref = new ClusterSimulator(shape, model(), rr);
    const b = builder(4);
    const out: HeatEventV1[] = [];
    const sums = new Array<number>(36).fill(0);
    for (let i = 0; i < 6; i++) {
      out.push(...b.add(sim.next()));
      const s = ref.next();
      if (i < 4) s.slots.forEach((x, k) => (sums[k] += x));
    }
    expect(out.map((e) => [e.step, e.steps])).toEqual(Array(4).fill([1000, 4]));
    expect(out[2].load[1]).toEqual(sums.slice(12 + 6, 12 + 9));
    const tail = b.flush();
    expect(tail.map((e) => [e.step, e.steps])).toEqual(Array(4).fill([1004, 2]));
    expect(b.flush()).toEqual([]);
  });

  it('cuts the window at a layer map change and reports per-layer versions', () => {
    const sim = new ClusterSimulator(shape, model(), rr);
    const b = builder(4);
    const out: HeatEventV1[] = [...b.add(sim.next()), ...b.add(sim.next())];
    sim.setLayerMap(2, { version: 2, physicalToLogical: [7, 6, 5, 4, 3, 2, 1, 0, 0, 1, 2, 3] });
    out.push(...b.add(sim.next()));
    expect(out.map((e) => [e.step, e.steps, e.mapVersion, e.layerVersions])).toEqual(Array(4).fill([1000, 2, 1, null]));
    const after = b.flush();
    expect(after.map((e) => [e.step, e.steps, e.mapVersion, e.layerVersions])).toEqual(Array(4).fill([1002, 1, 2, [1, 1, 2]]));
  });

  it('versionsOf names per-layer versions only when they differ', () => {
    expect(versionsOf([3, 3, 3])).toEqual({ mapVersion: 3, layerVersions: null });
    expect(versionsOf([3, 4, 3])).toEqual({ mapVersion: 4, layerVersions: [3, 4, 3] });
  });
});

describe('runSimulation', () => {
  const opts = (argv: string) => {
    const o = parseSimArgs(`--deployment sim-a ${argv}`.split(' '), { token: 'x' });
    if (o === 'help') throw new Error('help');
    return o;
  };

  it('produces steps × ranks events, deterministic by seed, and summarizes the imbalance', async () => {
    const run = async () => {
      const events: HeatEventV1[] = [];
      const summary = await runSimulation(opts('--steps 40 --scenario mix --episode-steps 4'), shape, {
        publish: async (e) => void events.push(e),
        mapSource: new StaticMapSource(shape),
      });
      return { events, summary };
    };
    const a = await run();
    const b = await run();
    expect(a.summary).toMatchObject({ steps: 40, events: 160, interrupted: false });
    expect(a.events.map((e) => e.load)).toEqual(b.events.map((e) => e.load));
    expect(a.summary.imbalance.perLayer).toHaveLength(3);
    expect(a.summary.imbalance.mean).toBeGreaterThanOrEqual(1);
    expect(a.summary.imbalance.meanPerStep).toBeGreaterThanOrEqual(a.summary.imbalance.mean);
  });

  it('paces against the schedule with an injected clock', async () => {
    let t = 0;
    const sleeps: number[] = [];
    const summary = await runSimulation(opts('--steps 10 --rate 100'), shape, {
      publish: async () => undefined,
      mapSource: new StaticMapSource(shape),
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
    });
    expect(sleeps).toEqual(Array(10).fill(10));
    expect(summary.stepsPerSecond).toBe(100);
  });

  it('stops when aborted and still emits the window in progress', async () => {
    const ac = new AbortController();
    const events: HeatEventV1[] = [];
    const summary = await runSimulation(opts('--steps 1000 --steps-per-event 8'), shape, {
      publish: async (e) => {
        events.push(e);
      },
      mapSource: new StaticMapSource(shape),
      now: (() => {
        let n = 0;
        return () => {
          if (++n === 60) ac.abort();
          return 0;
        };
      })(),
      signal: ac.signal,
    });
    expect(summary.interrupted).toBe(true);
    expect(summary.steps).toBeLessThan(1000);
    expect(events.reduce((s, e) => s + e.steps, 0)).toBe(summary.steps * 4);
  });

  it('follows the map source when it changes a layer', async () => {
    const source = new StaticMapSource(shape);
    let snapshot = source.current();
    const changing = {
      current: () => snapshot,
      refresh: async () => {
        const layers = [...snapshot.layers];
        layers[1] = { version: 2, physicalToLogical: [7, 6, 5, 4, 3, 2, 1, 0, 7, 7, 7, 7] };
        snapshot = { version: 2, layers };
      },
    };
    let t = 0;
    const events: HeatEventV1[] = [];
    const changes: [number, number][] = [];
    await runSimulation(opts('--steps 4 --map-refresh-ms 10'), shape, {
      publish: async (e) => void events.push(e),
      mapSource: changing,
      now: () => (t += 4),
      onMapChange: (l, v) => changes.push([l, v]),
    });
    expect(changes).toEqual([[1, 2]]);
    expect(events[0].layerVersions).toBeNull();
    expect(events[events.length - 1].layerVersions).toEqual([1, 2, 1]);
  });
});
