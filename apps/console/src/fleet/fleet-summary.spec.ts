import { describe, expect, it } from 'vitest';
import { agentHealthy, imbalanceNow, overallTrend } from './fleet-summary';

describe('imbalanceNow', () => {
  it('averages the newest bucket over layers and names the worst layer', () => {
    const trend = {
      resolution: 'episode',
      next: null,
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
    expect(imbalanceNow({ resolution: 'episode', next: null, note: '', buckets: [] })).toEqual({ imbalanceNow: null, worstLayer: null });
  });
});

describe('overallTrend', () => {
  it('is the mean over layers per bucket, oldest first', () => {
    const b = (mean: number[]) => ({ t: '', episodes: 1, mean, max: mean });
    expect(overallTrend({ resolution: 'minute', next: null, note: '', buckets: [b([1, 3]), b([]), b([2, 2])] })).toEqual([2, 2]);
  });
});

describe('agentHealthy', () => {
  it('counts an agent heard directly or over Kafka, not a stale or missing one', () => {
    const a = (status: 'connected' | 'kafka-only' | 'stale' | 'missing') => ({ node: 0, status, ranks: [], lastSeen: null, ageMs: null, principal: null, heldVersions: null });
    expect((['connected', 'kafka-only', 'stale', 'missing'] as const).map((s) => agentHealthy(a(s)))).toEqual([true, true, false, false]);
  });
});
