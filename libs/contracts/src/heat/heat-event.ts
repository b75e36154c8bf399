import { HeatEventV1, parseHeatEvent } from './heat-event.v1';
import { decodeHeatEventV2, HeatEventV2, isHeatV2 } from './heat-event.v2';

/** A heat report in either version of the contract; they carry the same fields. */
export type HeatEvent = HeatEventV1 | HeatEventV2;

export type HeatReportVerdict = { ok: true; event: HeatEvent } | { ok: false; reason: string };

/**
 * What the collector reads from the heat topic: version 2's binary rows when the bytes say so,
 * else version 1's JSON. Either way a refusal names the offending field.
 */
export function parseHeatReport(raw: Buffer | string | null): HeatReportVerdict {
  if (raw !== null && typeof raw !== 'string' && isHeatV2(raw)) return decodeHeatEventV2(raw);
  return parseHeatEvent(raw);
}
