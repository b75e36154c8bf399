import type { HeatEventV1 } from '@eplb/contracts';
import type { ClosedEpisode } from '@eplb/domain';

/**
 * A valid `eplb.heat.v1` event for one rank and step, stamped now; `extra` overrides any field
 * (tests that need an invalid one override with what the type does not allow).
 */
export function heatEvent(deployment: string, rank: number, step: number, load: unknown, extra: Record<string, unknown> = {}): HeatEventV1 {
  return {
    v: 1,
    deployment,
    rank,
    step,
    steps: 1,
    phase: 'decode',
    mapVersion: 1,
    layerVersions: null,
    ts: new Date().toISOString(),
    load: load as number[][],
    ...extra,
  };
}

/**
 * A complete episode as the collector stores it (every rank reported every step, loads of 1),
 * with the imbalance per layer and the layer versions it was measured under, stamped `tsMs` by
 * the workers' clock.
 */
export function completeEpisode(
  shape: { numLayers: number; numExperts: number; numRanks: number; slotsPerRank: number; episodeSteps: number },
  episode: number,
  m: { imbalance: Float64Array; layerVersions: Int32Array; tsMs: number },
): ClosedEpisode {
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S, episodeSteps: K } = shape;
  return {
    phase: 'decode',
    episode,
    startStep: episode * K,
    endStep: (episode + 1) * K,
    slotLoad: new Float64Array(L * R * S).fill(1),
    logicalLoad: new Float64Array(L * E).fill(1),
    imbalance: m.imbalance,
    layerVersions: m.layerVersions,
    received: new Uint8Array(Math.ceil((R * K) / 8)).fill(255),
    events: R * K,
    lateEvents: 0,
    missingRanks: [],
    missingRankSteps: 0,
    firstTsMs: m.tsMs,
    lastTsMs: m.tsMs,
    closedBy: 'complete',
  };
}
