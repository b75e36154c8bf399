import { z } from 'zod';

/**
 * `eplb.heat.v1` (DESIGN.md "Heat event, version 1"): tokens routed to each local physical slot of
 * one rank, per MoE layer, over steps [step, step + steps). Key = deployment id.
 * The schema checks what a message can be checked for alone; `checkAgainstDeployment` adds what
 * needs the deployment's registry entry (shape, known map versions).
 */
const count = z.number().int('must be an integer count').nonnegative('must be a non-negative count');

export const HEAT_PHASES = ['prefill', 'decode', 'mixed'] as const;
export type HeatPhase = (typeof HEAT_PHASES)[number];

export const heatEventV1Schema = z.strictObject({
  v: z.literal(1),
  deployment: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a deployment id (lowercase letters, digits, . _ -)'),
  rank: z.number().int().nonnegative(),
  step: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  steps: z.number().int().positive().max(1_000_000),
  phase: z.enum(HEAT_PHASES),
  mapVersion: z.number().int().positive(),
  layerVersions: z.array(z.number().int().positive()).nullable(),
  ts: z.iso.datetime({ offset: true }),
  load: z.array(z.array(count)).min(1),
});

export type HeatEventV1 = z.infer<typeof heatEventV1Schema>;

/** What a consumer needs to know about a deployment to accept its heat. */
export interface HeatDeploymentView {
  readonly numLayers: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly latestMapVersion: number;
}

export type HeatVerdict = { ok: true; event: HeatEventV1 } | { ok: false; reason: string };

/** Events stamped further ahead than this are rejected: a clock that wrong poisons windows. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Parses raw bytes; the reason names the first offending field. */
export function parseHeatEvent(raw: Buffer | string | null): HeatVerdict {
  if (raw === null || raw.length === 0) return { ok: false, reason: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = heatEventV1Schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.length ? issue.path.join('.') : '(root)';
    return { ok: false, reason: `${path}: ${issue.message}` };
  }
  return { ok: true, event: parsed.data };
}

/** Shape and version checks that need the deployment; `now` is injected for testability. */
export function checkAgainstDeployment(e: HeatEventV1, d: HeatDeploymentView, now: number): string | null {
  if (e.rank >= d.numRanks) return `rank: ${e.rank} is not a rank of ${e.deployment} (0..${d.numRanks - 1})`;
  if (e.load.length !== d.numLayers) return `load: has ${e.load.length} layers, expected ${d.numLayers}`;
  for (let l = 0; l < e.load.length; l++) {
    if (e.load[l].length !== d.slotsPerRank) {
      return `load.${l}: has ${e.load[l].length} slots, expected ${d.slotsPerRank}`;
    }
  }
  if (e.mapVersion > d.latestMapVersion) {
    return `mapVersion: ${e.mapVersion} is unknown for ${e.deployment} (latest ${d.latestMapVersion})`;
  }
  if (e.layerVersions !== null) {
    if (e.layerVersions.length !== d.numLayers) {
      return `layerVersions: has ${e.layerVersions.length} entries, expected ${d.numLayers}`;
    }
    const bad = e.layerVersions.findIndex((v) => v > d.latestMapVersion);
    if (bad >= 0) return `layerVersions.${bad}: ${e.layerVersions[bad]} is unknown for ${e.deployment}`;
  }
  const ts = Date.parse(e.ts);
  if (ts - now > MAX_CLOCK_SKEW_MS) return `ts: ${e.ts} is more than ${MAX_CLOCK_SKEW_MS / 1000}s in the future`;
  return null;
}
