/** One page of a list and where the next one starts (null: this was the last). */
export interface Paged<Item, Cursor> {
  readonly items: readonly Item[];
  readonly next: Cursor | null;
}

/**
 * Every item of a paged list, in the API's order: `read` is asked for the first page (cursor
 * undefined), then for each next one until `page` says there is none. The lists page differently
 * (`next`, `nextCursor`, `nextAfterEpisode`, buckets' `next` as `from`), so `page` names a
 * page's items and cursor. A cursor that does not move would loop forever: that is an error.
 */
export async function allPages<Page, Item, Cursor>(read: (cursor: Cursor | undefined) => Promise<Page>, page: (p: Page) => Paged<Item, Cursor>): Promise<Item[]> {
  const all: Item[] = [];
  let cursor: Cursor | undefined;
  for (;;) {
    const p = page(await read(cursor));
    all.push(...p.items);
    if (p.next === null) return all;
    if (cursor !== undefined && p.next === cursor) throw new Error(`paged list did not move past cursor ${String(cursor)}`);
    cursor = p.next;
  }
}
