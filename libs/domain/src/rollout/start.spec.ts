import { describe, expect, it } from 'vitest';
import { committedRows, rolloutStart } from './start';

describe('rolloutStart: what a new rollout starts from', () => {
  it('every layer on one version: that version, no per-layer versions, its rows and the target', () => {
    expect(rolloutStart([1, 1, 1], 2)).toEqual({ ok: true, fromVersion: 1, mapVersions: [1, 2] });
  });

  it('every layer already on the target: turned down', () => {
    expect(rolloutStart([3, 3], 3)).toEqual({ ok: false, why: 'every layer is already on version 3' });
  });

  it('a mixed state (a failure held some layers): each layer from its own version; the record names the most common', () => {
    const s = rolloutStart([2, 1, 1, 2, 1], 2);
    expect(s).toEqual({ ok: true, fromVersion: 1, fromVersions: [2, 1, 1, 2, 1], mapVersions: [2, 1, 2] });
  });

  it('undo from a mixed state counts only layers off the target; ties go to the lower version', () => {
    expect(rolloutStart([3, 2, 3, 2, 1, 1], 1)).toMatchObject({ fromVersion: 2 });
    expect(rolloutStart([1, 1, 4, 4, 4], 1)).toMatchObject({ fromVersion: 4, fromVersions: [1, 1, 4, 4, 4] });
  });

  it('committedRows takes each layer from its own version', () => {
    const maps = new Map([
      [1, [[0, 1], [2, 3]]],
      [2, [[1, 0], [3, 2]]],
    ]);
    expect(committedRows([2, 1], maps)).toEqual([[1, 0], [2, 3]]);
    expect(() => committedRows([5, 1], maps)).toThrow(/map version 5/);
  });
});
