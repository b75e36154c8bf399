/** The heatmap's hottest (layer, expert) cell. */
export interface HotCell {
  readonly layer: number;
  readonly expert: number;
  readonly count: number;
}

/**
 * The largest count of a layers × experts matrix; on a tie the lowest layer, then the lowest
 * expert — the order in which the API's top-k lists equal counts, so both name the same cell.
 * Null when nothing was counted.
 */
export function hottestCell(counts: readonly (readonly number[])[]): HotCell | null {
  let best: HotCell | null = null;
  counts.forEach((row, layer) =>
    row.forEach((count, expert) => {
      if (count > 0 && (best === null || count > best.count)) best = { layer, expert, count };
    }),
  );
  return best;
}
