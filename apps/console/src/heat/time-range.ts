import type { HeatRangeQuery } from '@eplb/api-client';

/** The ranges the heat page offers, newest data last: a span back from now. */
export const RANGES = [
  { id: '15m', label: 'last 15 minutes', ms: 15 * 60_000 },
  { id: '1h', label: 'last hour', ms: 60 * 60_000 },
  { id: '6h', label: 'last 6 hours', ms: 6 * 60 * 60_000 },
  { id: '24h', label: 'last 24 hours', ms: 24 * 60 * 60_000 },
  { id: '7d', label: 'last 7 days', ms: 7 * 24 * 60 * 60_000 },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];

export const PHASES = ['decode', 'prefill', 'mixed'] as const;
export type Phase = (typeof PHASES)[number];

/** The API's [from, to) for a range ending now, with the phase. */
export function rangeQuery(range: RangeId, phase: Phase, now: Date = new Date()): Required<HeatRangeQuery> {
  const span = RANGES.find((r) => r.id === range)!.ms;
  return { phase, from: new Date(now.getTime() - span).toISOString(), to: now.toISOString() };
}
