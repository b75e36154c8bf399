/** One physical slot of a layer in the diff grid: the expert it serves, and what it served before. */
export interface SlotCell {
  readonly slot: number;
  readonly expert: number;
  /** null: the slot's expert did not change. */
  readonly before: number | null;
}

/**
 * A layer's slots as ranks (rows) × slots per rank (columns), each marked with the expert it held
 * in the older version when that differs — the grid an operator reads a rollout's moves from.
 */
export function slotGrid(row: readonly number[], previous: readonly number[] | null, slotsPerRank: number): SlotCell[][] {
  const ranks = Math.floor(row.length / slotsPerRank);
  return Array.from({ length: ranks }, (_, r) =>
    Array.from({ length: slotsPerRank }, (_, s) => {
      const slot = r * slotsPerRank + s;
      const before = previous ? previous[slot] : undefined;
      return { slot, expert: row[slot], before: before === undefined || before === row[slot] ? null : before };
    }),
  );
}
