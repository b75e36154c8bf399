import { validationProblem } from '@eplb/platform';

/**
 * Numbers (loads, imbalance figures) one heat read may load from the database or answer with:
 * 16 M — 128 MB as the doubles the API folds. A week of one layer's minutes at 256 experts is
 * 2.6 M; a 400-day minute trend of every layer would be hundreds of millions, and is refused.
 */
export const MAX_HEAT_READ_CELLS = 1 << 24;

export const withinReadBudget = (cells: number): boolean => cells <= MAX_HEAT_READ_CELLS;

/** A 400 problem naming the cap, what the query would have read, and how to ask for less. */
export const overReadBudget = (field: string, what: string, cells: number) =>
  validationProblem([
    {
      field,
      message: `${what} = ${cells} numbers, more than the ${MAX_HEAT_READ_CELLS} one heat read may cover; ask for a coarser resolution, a shorter range or a smaller limit`,
    },
  ]);

/** Refuses a read that would exceed the budget. */
export function checkReadBudget(field: string, what: string, cells: number): void {
  if (!withinReadBudget(cells)) throw overReadBudget(field, what, cells);
}
