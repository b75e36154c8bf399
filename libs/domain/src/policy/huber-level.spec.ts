import { describe, expect, it } from 'vitest';
import { HeatEpisodes } from '../heat/heat';
import { huberLevel } from './huber-level';

// one layer of 4 experts over 8 episodes of 1000 picks each; experts 0 and 1 wander a little
// about 40% and 30%, at the expense of 3 and 2
const base = [400, 300, 200, 100];
const wander = [12, -8, 5, -15, 9, -3, 7, -7];
const episodes = (burst?: { k: number; picks: number }): HeatEpisodes =>
  wander.map((d, k) => {
    const h = Float64Array.from(base);
    h[0] += d;
    h[3] -= d;
    h[1] += wander[(k + 3) % 8];
    h[2] -= wander[(k + 3) % 8];
    if (burst && burst.k === k) h[1] += burst.picks;
    return [h];
  });
const w = new Float64Array(8).fill(1 / 8);
const meanShare = (heat: HeatEpisodes, e: number): number => heat.reduce((s, ep) => s + ep[0][e] / ep[0].reduce((a, b) => a + b, 0), 0) / heat.length;

describe('huberLevel', () => {
  it('is the mean share where the experts merely wander', () => {
    const heat = episodes();
    const level = huberLevel(heat, 0, w);
    for (let e = 0; e < 4; e++) expect(Math.abs(level[e] - meanShare(heat, e))).toBeLessThan(0.002);
  });

  it('holds a burst in one episode to a few sds: the level moves far less than the mean', () => {
    const calm = huberLevel(episodes(), 0, w);
    const heat = episodes({ k: 3, picks: 3000 });
    const level = huberLevel(heat, 0, w);
    const meanMove = meanShare(heat, 1) - meanShare(episodes(), 1);
    expect(meanMove).toBeGreaterThan(0.05);
    expect(Math.abs(level[1] - calm[1])).toBeLessThan(0.2 * meanMove);
  });

  it('returns zero for an expert of a layer whose episodes are all empty', () => {
    const heat: HeatEpisodes = [[new Float64Array(3)], [new Float64Array(3)]];
    expect(Array.from(huberLevel(heat, 0, Float64Array.of(0.5, 0.5)))).toEqual([0, 0, 0]);
  });
});
