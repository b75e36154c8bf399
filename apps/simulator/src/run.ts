import type { HeatEventV1 } from '@eplb/contracts';
import { ClusterSimulator, DeploymentShape, RouterModel } from '@eplb/domain';
import type { SimOptions } from './sim-options';
import { EventBuilder } from './events';
import type { MapSource } from './map-source';
import { LoadSummary } from './summary';

export interface RunDeps {
  /** Accepts one event; may wait (back-pressure). */
  readonly publish: (event: HeatEventV1) => Promise<void>;
  readonly mapSource: MapSource;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called when a layer map change from the map source is applied. */
  readonly onMapChange?: (layer: number, version: number) => void;
}

export interface RunSummary {
  deployment: string;
  scenario: string;
  steps: number;
  firstStep: number;
  events: number;
  seconds: number;
  targetRate: number | null;
  stepsPerSecond: number;
  eventsPerSecond: number;
  /** Furthest the run fell behind its schedule (0 without --rate). */
  maxLagMs: number;
  interrupted: boolean;
  imbalance: { perLayer: number[]; mean: number; max: number; meanPerStep: number };
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Simulation options the router model needs, derived from the command line and the shape. */
export function routerModelFor(o: SimOptions, shape: DeploymentShape): RouterModel {
  const K = o.episodeSteps;
  return new RouterModel({
    numLayers: shape.numLayers,
    numExperts: shape.numExperts,
    tokensPerStep: o.tokensPerStep ?? 128 * shape.numRanks,
    topK: Math.min(o.topK, shape.numExperts),
    seed: o.seed,
    scenarios: o.scenarios,
    zipfExponent: o.zipf,
    noise: o.noise,
    phaseSteps: K,
    driftSteps: o.driftSteps ?? 4 * K,
    spikeSteps: Math.max(1, Math.round(K / 2)),
  });
}

/**
 * Runs the simulation: steps at the requested rate (scheduled against the start time, so a slow
 * step is caught up rather than silently stretching the run), events through `publish`, the map
 * in force re-read every `mapRefreshMs`. Stops at the step or time limit or when `signal` aborts;
 * the window in progress is emitted either way.
 */
export async function runSimulation(o: SimOptions, shape: DeploymentShape, deps: RunDeps): Promise<RunSummary> {
  const now = deps.now ?? (() => performance.now());
  const sleep = deps.sleep ?? defaultSleep;
  const sim = new ClusterSimulator(shape, routerModelFor(o, shape), deps.mapSource.current().layers);
  const builder = new EventBuilder({
    deployment: o.deployment,
    numLayers: shape.numLayers,
    numRanks: shape.numRanks,
    slotsPerRank: shape.slotsPerRank,
    phase: o.phase,
    stepsPerEvent: o.stepsPerEvent,
    startStep: o.startStep,
  });
  const summary = new LoadSummary(shape.numLayers, shape.numRanks, shape.slotsPerRank);
  const buffers = {
    logical: new Int32Array(shape.numLayers * shape.numExperts),
    slots: new Int32Array(shape.numLayers * shape.numRanks * shape.slotsPerRank),
  };
  let events = 0;
  let steps = 0;
  let maxLagMs = 0;
  const t0 = now();
  let nextRefresh = t0 + o.mapRefreshMs;
  const emit = async (batch: HeatEventV1[]) => {
    for (const e of batch) {
      await deps.publish(e);
      events++;
    }
  };

  while (!deps.signal?.aborted) {
    if (o.steps !== null && steps >= o.steps) break;
    if (o.durationMs !== null && now() - t0 >= o.durationMs) break;
    if (o.rate !== null) {
      const due = t0 + (steps * 1000) / o.rate;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
      else maxLagMs = Math.max(maxLagMs, -wait);
      if (deps.signal?.aborted) break;
    } else if (steps % 8 === 0) {
      await yieldToLoop(); // let timers, sockets and SIGINT in
    }
    if (now() >= nextRefresh) {
      await deps.mapSource.refresh();
      nextRefresh = now() + o.mapRefreshMs;
      const snap = deps.mapSource.current();
      snap.layers.forEach((m, l) => {
        if (sim.layerVersion(l) !== m.version) {
          sim.setLayerMap(l, m);
          deps.onMapChange?.(l, m.version);
        }
      });
    }
    const step = sim.next(buffers);
    summary.add(step);
    await emit(builder.add(step));
    steps++;
  }
  await emit(builder.flush());
  if (o.rate !== null && !deps.signal?.aborted) {
    // The last step lasts 1/rate too: N steps at rate r take N/r seconds.
    const wait = t0 + (steps * 1000) / o.rate - now();
    if (wait > 0) await sleep(wait);
  }
  const seconds = Math.max((now() - t0) / 1000, 1e-9);
  return {
    deployment: o.deployment,
    scenario: o.scenarioName,
    steps,
    firstStep: o.startStep,
    events,
    seconds: Math.round(seconds * 1000) / 1000,
    targetRate: o.rate,
    stepsPerSecond: Math.round((steps / seconds) * 10) / 10,
    eventsPerSecond: Math.round(events / seconds),
    maxLagMs: Math.round(maxLagMs),
    interrupted: deps.signal?.aborted ?? false,
    imbalance: summary.result(),
  };
}
