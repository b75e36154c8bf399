const HOUR_MS = 3_600_000;

/** A range of bucket starts, [fromMs, toMs). */
export interface BucketRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * The minute buckets of [fromMs, toMs) as the whole hours within it plus the ragged minutes at its
 * ends: an hour rollup holds the same episodes as its sixty minute rollups, so a sum over the
 * range reads one row per layer and hour where it would read sixty. `hours` is null when the range
 * holds no whole hour.
 */
export function splitAtHours(fromMs: number, toMs: number): { hours: BucketRange | null; minutes: BucketRange[] } {
  const h0 = Math.ceil(fromMs / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(toMs / HOUR_MS) * HOUR_MS;
  if (h0 >= h1) return { hours: null, minutes: [{ fromMs, toMs }] };
  const minutes = [
    { fromMs, toMs: h0 },
    { fromMs: h1, toMs },
  ].filter((m) => m.fromMs < m.toMs);
  return { hours: { fromMs: h0, toMs: h1 }, minutes };
}
