import { describe, expect, it } from 'vitest';
import { allPages } from './all-pages';

describe('allPages', () => {
  const pages: Record<string, { items: number[]; next: string | null }> = {
    first: { items: [1, 2], next: 'b' },
    b: { items: [3], next: 'c' },
    c: { items: [], next: null },
  };

  it('reads page after page until there is no next one, keeping the order', async () => {
    const asked: (string | undefined)[] = [];
    const items = await allPages(
      async (cursor: string | undefined) => {
        asked.push(cursor);
        return pages[cursor ?? 'first'];
      },
      (p) => p,
    );
    expect(items).toEqual([1, 2, 3]);
    expect(asked).toEqual([undefined, 'b', 'c']);
  });

  it('reads a list whose cursor has another name', async () => {
    const items = await allPages(
      async (after: number | undefined) => ({ rows: after === undefined ? ['x'] : ['y'], nextAfterEpisode: after === undefined ? 7 : null }),
      (p) => ({ items: p.rows, next: p.nextAfterEpisode }),
    );
    expect(items).toEqual(['x', 'y']);
  });

  it('refuses a cursor that does not move', async () => {
    await expect(allPages(async () => ({ items: [1], next: 'same' }), (p) => p)).rejects.toThrow(/did not move/);
  });
});
