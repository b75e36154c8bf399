import { describe, expect, it } from 'vitest';
import { imbalanceNow } from './fleet-summary';

describe('imbalanceNow', () => {
  it('averages the newest bucket over layers and names the worst layer', () => {
    const trend = {
      resolution: 'episode',
      note: '',
      buckets: [
        { t: '2026-01-01T00:00:00Z', episodes: 1, mean: [3, 3], max: [3, 3] },
        { t: '2026-01-01T00:01:00Z', episodes: 1, mean: [1.2, 1.6, 1.1], max: [1.2, 1.6, 1.1] },
      ],
    };
    const now = imbalanceNow(trend);
    expect(now.imbalanceNow).toBeCloseTo(1.3);
    expect(now.worstLayer).toEqual({ layer: 1, imbalance: 1.6 });
  });

  it('says nothing without heat', () => {
    expect(imbalanceNow({ resolution: 'episode', note: '', buckets: [] })).toEqual({ imbalanceNow: null, worstLayer: null });
  });
});
