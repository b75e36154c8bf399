import { z } from 'zod';
import { isDeploymentId } from '@eplb/domain';
import { deploymentIdSchema } from '../deployment-id';
import { firstIssue, readJson } from '../parse';

/**
 * `eplb.heat.v1` (docs/design.md, "Heat event, version 1"): tokens routed to each local physical
 * slot of one rank, per MoE layer, over steps [step, step + steps). Key = deployment id.
 * The schema checks what a message can be checked for alone; `checkAgainstDeployment` adds what
 * needs the deployment's registry entry (shape, known map versions).
 */
const count = z.number().int('must be an integer count').nonnegative('must be a non-negative count');

export const HEAT_PHASES = ['prefill', 'decode', 'mixed'] as const;
export type HeatPhase = (typeof HEAT_PHASES)[number];

export const heatEventV1Schema = z.strictObject({
  v: z.literal(1),
  deployment: deploymentIdSchema,
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

const DAY_MS = 86_400_000;

/**
 * The oldest instant heat is kept for: retention drops every daily partition wholly before it.
 * Ingest refuses heat stamped before it too, so that no row lands in a partition retention is
 * about to drop, or has dropped (such rows would sit in the default partition, never dropped).
 */
export const heatRetentionCutoffMs = (now: number, retentionDays: number): number => now - retentionDays * DAY_MS;

/** Why a heat timestamp is outside [retention cut-off, now + skew], or null when inside. */
export function heatTimeProblem(ts: string, now: number, retentionDays: number): string | null {
  const ms = Date.parse(ts);
  if (ms - now > MAX_CLOCK_SKEW_MS) return `ts: ${ts} is more than ${MAX_CLOCK_SKEW_MS / 1000}s in the future`;
  if (ms < heatRetentionCutoffMs(now, retentionDays)) return `ts: ${ts} is older than the ${retentionDays}-day heat retention`;
  return null;
}

const KEYS = new Set(['v', 'deployment', 'rank', 'step', 'steps', 'phase', 'mapVersion', 'layerVersions', 'ts', 'load']);
const ISO_TS = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const isCount = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isVersion = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;

/**
 * The hot path: a hand-written check strictly narrower than the schema (whatever passes here the
 * schema accepts too), about 8× faster than zod on a DeepSeek-V3 event. Anything it does not
 * accept goes through the schema, which names the offending field.
 */
function quickAccept(j: unknown): j is HeatEventV1 {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return false;
  const o = j as Record<string, unknown>;
  let keys = 0;
  for (const k in o) {
    if (!KEYS.has(k)) return false;
    keys++;
  }
  if (keys !== KEYS.size || o.v !== 1) return false;
  if (!isDeploymentId(o.deployment)) return false;
  if (!isCount(o.rank) || !isCount(o.step) || (o.step as number) > Number.MAX_SAFE_INTEGER) return false;
  if (!isVersion(o.steps) || (o.steps as number) > 1_000_000 || !isVersion(o.mapVersion)) return false;
  if (o.phase !== 'prefill' && o.phase !== 'decode' && o.phase !== 'mixed') return false;
  if (o.layerVersions !== null) {
    if (!Array.isArray(o.layerVersions)) return false;
    for (const v of o.layerVersions) if (!isVersion(v)) return false;
  }
  if (typeof o.ts !== 'string' || !ISO_TS.test(o.ts) || Number.isNaN(Date.parse(o.ts))) return false;
  const load = o.load;
  if (!Array.isArray(load) || load.length === 0) return false;
  for (const row of load) {
    if (!Array.isArray(row)) return false;
    for (let i = 0; i < row.length; i++) if (!isCount(row[i])) return false;
  }
  return true;
}

/** Parses raw bytes; the reason names the first offending field. */
export function parseHeatEvent(raw: Buffer | string | null): HeatVerdict {
  const read = readJson(raw);
  if (!read.ok) return read;
  if (quickAccept(read.json)) return { ok: true, event: read.json };
  const parsed = heatEventV1Schema.safeParse(read.json);
  return parsed.success ? { ok: true, event: parsed.data } : { ok: false, reason: firstIssue(parsed.error) };
}

/**
 * Shape and version checks that need the deployment, and the timestamp's bounds (`now` and the
 * retention in days are injected: the collector reads them from its clock and config).
 */
export function checkAgainstDeployment(e: Omit<HeatEventV1, 'v'>, d: HeatDeploymentView, now: number, retentionDays: number): string | null {
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
  return heatTimeProblem(e.ts, now, retentionDays);
}
