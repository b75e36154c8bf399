import { describe, expect, it } from 'vitest';
import { RankHeat } from './episode';
import { EpisodeStream } from './episode-stream';
import { WindowShape } from './window-shape';

// 2 layers, 3 experts, 2 ranks × 2 slots; episodes of 4 steps, intervals of 8, lateness 4.
const w: WindowShape = { numLayers: 2, numExperts: 3, numRanks: 2, slotsPerRank: 2, episodeSteps: 4, intervalSteps: 8, latenessSteps: 4 };
const v1 = [0, 1, 2, 0];
const v2 = [2, 1, 0, 1];
const map = (version: number) => (version === 1 ? v1 : v2);
const heat = (rank: number, step: number, load = [[1, 2], [3, 4]], extra: Partial<RankHeat> = {}): RankHeat => ({
  rank,
  step,
  steps: 1,
  mapVersion: 1,
  layerVersions: null,
  tsMs: 1000 + step,
  load,
  ...extra,
});

describe('EpisodeStream', () => {
  it('closes an episode when every rank reported every step, attributing slots to logical experts', () => {
    const s = new EpisodeStream(w, 'decode');
    for (let step = 0; step < 4; step++) {
      expect(s.offer(heat(0, step), map)).toEqual({ kind: 'open', episode: 0 });
      expect(s.offer(heat(1, step, [[5, 6], [7, 8]]), map)).toEqual({ kind: 'open', episode: 0 });
    }
    const { episodes } = s.drain();
    expect(episodes).toHaveLength(1);
    const e = episodes[0];
    expect(e.closedBy).toBe('complete');
    expect(e.events).toBe(8);
    expect(e.missingRanks).toEqual([]);
    // layer 0 slots: rank0 [1,2] rank1 [5,6] ×4 steps; map v1 = [0,1,2,0]
    expect([...e.slotLoad.subarray(0, 4)]).toEqual([4, 8, 20, 24]);
    expect([...e.logicalLoad.subarray(0, 3)]).toEqual([4 + 24, 8, 20]);
    // rank loads 12 and 44: imbalance 44 / 28
    expect(e.imbalance[0]).toBeCloseTo(44 / 28, 12);
    expect([...e.layerVersions]).toEqual([1, 1]);
  });

  it('counts a (rank, step) once and refuses partial overlaps', () => {
    const s = new EpisodeStream(w, 'decode');
    expect(s.offer(heat(0, 1), map).kind).toBe('open');
    expect(s.offer(heat(0, 1, [[100, 100], [100, 100]]), map)).toEqual({ kind: 'duplicate' });
    expect(s.offer(heat(0, 0, undefined, { steps: 2 }), map)).toEqual({
      kind: 'rejected',
      reason: 'steps: [0, 2) of rank 0 overlap 1 step(s) already counted',
    });
    expect(s.offer(heat(0, 3, undefined, { steps: 2 }), map)).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('crosses the boundary of episode 0') });
  });

  it('closes by watermark, recording missing ranks, then treats stragglers as late until the interval seals', () => {
    const s = new EpisodeStream(w, 'decode');
    for (let step = 0; step < 4; step++) s.offer(heat(0, step), map); // rank 1 silent in episode 0
    expect(s.drain().episodes).toHaveLength(0);
    for (let step = 4; step < 8; step++) s.offer(heat(0, step), map); // watermark = 8 − 4 = 4
    const first = s.drain();
    expect(first.episodes.map((e) => [e.episode, e.closedBy, e.missingRanks, e.missingRankSteps])).toEqual([[0, 'watermark', [1], 4]]);
    expect(s.offer(heat(1, 2), map)).toEqual({ kind: 'late', episode: 0 });
    for (let step = 8; step < 20; step++) s.offer(heat(0, step), map); // watermark 16: interval 0 ends 8, +4 grace ≤ 16
    const sealed = s.drain();
    expect(sealed.intervals).toEqual([0]);
    expect(s.offer(heat(1, 3), map)).toMatchObject({ kind: 'sealed', episode: 0, reason: expect.stringMatching(/^late: episode 0 of interval 0 is sealed/) });
  });

  it('changes nothing until what is due is settled: a store that failed is retried on the same state', () => {
    const s = new EpisodeStream(w, 'decode');
    for (let step = 0; step < 4; step++) s.offer(heat(0, step), map); // rank 1 silent in episode 0
    for (let step = 4; step < 20; step++) s.offer(heat(0, step), map); // watermark 16
    const due = s.due();
    expect(due.episodes.map((e) => e.episode)).toEqual([0, 1, 2, 3]);
    expect(due.intervals).toEqual([0]);
    // the store failed: the retried batch finds its reports counted, and the same work due
    expect(s.offer(heat(0, 2), map)).toEqual({ kind: 'duplicate' });
    expect(s.offer(heat(1, 2), map)).toEqual({ kind: 'open', episode: 0 });
    expect(s.openEpisodes()).toEqual([0, 1, 2, 3, 4]);
    const again = s.due();
    expect(again.episodes.map((e) => [e.episode, e.events])).toEqual([[0, 5], [1, 4], [2, 4], [3, 4]]);
    expect(again.intervals).toEqual([0]);
    s.settle(again);
    expect(s.openEpisodes()).toEqual([4]);
    expect(s.offer(heat(1, 3), map)).toMatchObject({ kind: 'sealed', episode: 0 });
    expect(s.due()).toMatchObject({ episodes: [], intervals: [] });
  });

  it('attributes each layer with its own map version during a rollout', () => {
    const s = new EpisodeStream(w, 'decode');
    s.offer(heat(0, 0, [[1, 0], [1, 0]], { layerVersions: [1, 2], mapVersion: 1 }), map);
    s.offer(heat(0, 1, [[1, 0], [1, 0]], { layerVersions: [2, 2], mapVersion: 2 }), map);
    for (let step = 0; step < 4; step++) s.offer(heat(1, step, [[0, 0], [0, 0]]), map);
    s.offer(heat(0, 2, [[0, 0], [0, 0]]), map);
    s.offer(heat(0, 3, [[0, 0], [0, 0]]), map);
    const [e] = s.drain().episodes;
    // layer 0: slot 0 under v1 is expert 0, under v2 expert 2; layer 1 both steps v2 → expert 2
    expect([...e.logicalLoad.subarray(0, 3)]).toEqual([1, 0, 1]);
    expect([...e.logicalLoad.subarray(3, 6)]).toEqual([0, 0, 2]);
    // Both layers saw v1 and v2 within the episode: mixed (0).
    expect([...e.layerVersions]).toEqual([0, 0]);
  });

  it('resumes from storage: stored episodes are late, not reopened', () => {
    const s = new EpisodeStream(w, 'decode', { maxEndStep: 8, closedEpisodes: [1], closedFloor: 1, nextInterval: 0 });
    expect(s.offer(heat(0, 5), map)).toEqual({ kind: 'late', episode: 1 });
    expect(s.offer(heat(0, 1), map)).toEqual({ kind: 'late', episode: 0 });
    expect(s.offer(heat(0, 9), map)).toEqual({ kind: 'open', episode: 2 });
  });
});
