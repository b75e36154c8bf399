import { describe, expect, it } from 'vitest';
import { actionsFor } from './rollout-actions';

describe('actionsFor', () => {
  it('offers the controls a rollout in flight takes', () => {
    expect(actionsFor('RUNNING', 1)).toEqual(['pause', 'promote', 'abort']);
    expect(actionsFor('PAUSED', 1)).toEqual(['resume', 'promote', 'abort']);
    expect(actionsFor('REQUESTED', null)).toEqual(['abort']);
  });

  it('offers undo for a succeeded rollout only, and nothing for one that ended otherwise', () => {
    expect(actionsFor('SUCCEEDED', 3)).toEqual(['undo']);
    for (const s of ['ABORTED', 'ROLLED_BACK', 'REJECTED', 'ROLLING_BACK'] as const) expect(actionsFor(s, 3)).toEqual([]);
  });
});
