import { describe, expect, it } from 'vitest';
import { layerStats } from './layer-stats';

/** One layer's episodes as heat (episodes × 1 layer × experts). */
const heatOf = (episodes: number[][]) => episodes.map((h) => [Float64Array.from(h)]);

describe('layerStats', () => {
  it('levels are trimmed means of the shares: a burst on one expert in one episode does not move them', () => {
    const calm = [50, 30, 20];
    const episodes = Array.from({ length: 8 }, (_, k) => (k === 5 ? [50, 30, 920] : calm));
    const st = layerStats(heatOf(episodes), 0, 4);
    // 8 episodes: the two highest and two lowest shares of each expert are dropped
    expect(Array.from(st.level)).toEqual([0.5, 0.3, 0.2].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(st.olderLevel)).toEqual([0.5, 0.3, 0.2].map((x) => expect.closeTo(x, 12)));
  });

  it('heat whose shares drift from episode to episode persists; alternating white-noise-like heat does not', () => {
    const drift = Array.from({ length: 16 }, (_, k) => [100 + 10 * k, 300 - 10 * k, 200]);
    expect(layerStats(heatOf(drift), 0, 8).persists).toBe(true);
    let seed = 3;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const noise = Array.from({ length: 16 }, () => [1000 + 100 * rand(), 1000 + 100 * rand(), 1000 + 100 * rand()]);
    expect(layerStats(heatOf(noise), 0, 8).persists).toBe(false);
  });

  it('stationary heat (no deviation at all) does not persist; fewer than 4 episodes are taken to persist', () => {
    const same = Array.from({ length: 8 }, () => [5, 3, 2]);
    expect(layerStats(heatOf(same), 0, 4).persists).toBe(false);
    expect(layerStats(heatOf(same.slice(0, 3)), 0, 2).persists).toBe(true);
  });
});
