import { describe, expect, it } from 'vitest';
import { splitAtHours } from './hour-split';

const H = 3_600_000;
const M = 60_000;

describe('splitAtHours', () => {
  it('reads whole hours from hour rollups and the ragged ends from minute rollups', () => {
    expect(splitAtHours(10 * H + 17 * M, 14 * H + 5 * M)).toEqual({
      hours: { fromMs: 11 * H, toMs: 14 * H },
      minutes: [
        { fromMs: 10 * H + 17 * M, toMs: 11 * H },
        { fromMs: 14 * H, toMs: 14 * H + 5 * M },
      ],
    });
  });

  it('needs no minutes when the range starts and ends on the hour', () => {
    expect(splitAtHours(2 * H, 26 * H)).toEqual({ hours: { fromMs: 2 * H, toMs: 26 * H }, minutes: [] });
  });

  it('keeps a range with no whole hour in minutes', () => {
    expect(splitAtHours(10 * H + 5 * M, 11 * H + 4 * M)).toEqual({ hours: null, minutes: [{ fromMs: 10 * H + 5 * M, toMs: 11 * H + 4 * M }] });
    expect(splitAtHours(10 * H + 5 * M, 10 * H + 50 * M).hours).toBeNull();
  });

  it('covers every minute bucket of the range exactly once', () => {
    const from = 3 * H + 59 * M + 30_000;
    const to = 7 * H + 1 * M;
    const { hours, minutes } = splitAtHours(from, to);
    for (let m = Math.ceil(from / M) * M; m < to; m += M) {
      const inHours = hours !== null && m >= hours.fromMs && m < hours.toMs ? 1 : 0;
      const inMinutes = minutes.filter((r) => m >= r.fromMs && m < r.toMs).length;
      expect(inHours + inMinutes, `minute ${m}`).toBe(1);
    }
  });
});
