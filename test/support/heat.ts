import type { HeatEventV1 } from '@eplb/contracts';

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
