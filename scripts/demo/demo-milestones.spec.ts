import { describe, expect, it } from 'vitest';
import { DemoMilestones, DemoSnapshot, MILESTONE } from './demo-milestones';

const empty: DemoSnapshot = { episodes: [], proposals: [], latestMapVersion: 1, rollouts: [], committedVersions: [1, 1, 1, 1] };
const proposal = { id: 'aaaaaaaa-1', interval: 3, figures: { currentMean: 1.4, candidateMean: 1.1, chosenLayers: [0, 2], transfers: 12 }, decision: null };
const approved = { ...proposal, decision: { decision: 'approved', by: 'scheduler:auto', mapVersion: 2 } };
const rollout = {
  rolloutId: 'bbbbbbbb-1',
  mapVersion: 2,
  fromVersion: 1,
  requestedBy: 'scheduler:auto',
  status: 'RUNNING',
  startedAt: '2026-12-06T10:00:00.000Z',
  finishedAt: null,
  failure: null,
  outcome: null,
};

describe('DemoMilestones', () => {
  it('says each milestone once, in order, with the figures', () => {
    const m = new DemoMilestones(0);
    expect(m.next(empty, 1000)).toEqual([]);
    const heat = m.next({ ...empty, episodes: [{ imbalance: [1.5, 1.3], layerVersions: [1, 1] }, { imbalance: [1.4, 1.4], layerVersions: [1, 1] }] }, 5000);
    expect(heat).toEqual([`${MILESTONE.heat} (+5s) — 2 recent episodes, measured imbalance 1.400 (max/mean rank load, mean over layers; 1 is perfect)`]);
    const s1 = { ...empty, episodes: [{ imbalance: [1.4], layerVersions: [1] }], proposals: [proposal] };
    expect(m.next(s1, 20_000)).toEqual([`${MILESTONE.proposal} (+20s) — run aaaaaaaa on interval 3: projected imbalance 1.400 → 1.100 on 2 layers, 12 transfers`]);
    expect(m.next(s1, 21_000)).toEqual([]);
    // approved in auto mode; no rollout yet
    const s2 = { ...s1, proposals: [approved], latestMapVersion: 2 };
    expect(m.next(s2, 22_000)).toEqual([`${MILESTONE.version} 2 (+22s) — approved by scheduler:auto from run aaaaaaaa; waiting for its rollout`]);
    const s3 = { ...s2, rollouts: [rollout] };
    expect(m.next(s3, 23_000)).toEqual([`${MILESTONE.started} (+23s) — bbbbbbbb v1 → v2, requested by scheduler:auto`]);
    const done = { ...rollout, status: 'SUCCEEDED', finishedAt: '2026-12-06T10:00:08.500Z' };
    const s4 = { ...s3, rollouts: [done], committedVersions: [2, 1, 2, 1] };
    expect(m.next(s4, 32_000)).toEqual([`${MILESTONE.committed} (+32s) — bbbbbbbb SUCCEEDED in 8.5s: 2 of 4 layers on v2`]);
    const outcome = { measured: { before: { imbalance: 1.41, interval: 3 }, after: { imbalance: 1.12, interval: 6 }, gain: 0.29, excessRemoved: 0.7073, projected: { before: 1.4, after: 1.1 }, onSameHeat: { previousMap: 1.38, newMap: 1.115 } }, why: null };
    const s5 = { ...s4, rollouts: [{ ...done, outcome }] };
    expect(m.next(s5, 60_000)).toEqual([
      `${MILESTONE.outcome} (+60s) — 1.410 → 1.120 measured by the collector (intervals 3 → 6, rollout bbbbbbbb, 71% of the excess over 1 removed; projected 1.400 → 1.100; on the heat after, the previous map 1.380 against this one's 1.115)`,
    ]);
    expect(m.next(s5, 61_000)).toEqual([]);
  });

  it('names a failed rollout and an outcome that could not be measured; a version already deploying gets no waiting line', () => {
    const m = new DemoMilestones(0);
    const failed = { ...rollout, status: 'ROLLED_BACK', finishedAt: '2026-12-06T10:00:02.000Z', failure: { reason: 'analysis of batch 0 failed' }, outcome: { measured: null, why: 'no interval was sealed before the rollout started' } };
    const lines = m.next({ ...empty, proposals: [approved], rollouts: [failed] }, 1000);
    expect(lines).toEqual([
      `${MILESTONE.proposal} (+1s) — run aaaaaaaa on interval 3: projected imbalance 1.400 → 1.100 on 2 layers, 12 transfers`,
      `${MILESTONE.started} (+1s) — bbbbbbbb v1 → v2, requested by scheduler:auto`,
      `${MILESTONE.committed} (+1s) — bbbbbbbb ROLLED_BACK in 2.0s: 0 of 4 layers on v2 — analysis of batch 0 failed`,
      'demo: outcome of rollout bbbbbbbb not measurable — no interval was sealed before the rollout started',
    ]);
  });
});

describe('DemoMilestones without a measured outcome', () => {
  it('says imbalance before → after from the episodes once enough were served wholly by the committed maps', () => {
    const m = new DemoMilestones(0);
    const before = Array.from({ length: 4 }, () => ({ imbalance: [2, 1.8], layerVersions: [1, 1] }));
    m.next({ ...empty, committedVersions: [1, 1], episodes: before, proposals: [approved] }, 1000);
    const done = { ...rollout, status: 'SUCCEEDED', finishedAt: '2026-12-06T10:00:05.000Z' };
    const mixed = Array.from({ length: 6 }, () => ({ imbalance: [1.6, 1.6], layerVersions: [2, 0] }));
    const served = (n: number) => Array.from({ length: n }, () => ({ imbalance: [1.3, 1.5], layerVersions: [2, 2] }));
    const s = { ...empty, committedVersions: [2, 2], proposals: [approved], rollouts: [done] };
    expect(m.next({ ...s, episodes: [...mixed, ...served(7)] }, 2000).filter((l) => l.startsWith(MILESTONE.outcome))).toEqual([]);
    expect(m.next({ ...s, episodes: [...mixed, ...served(8)] }, 3000).filter((l) => l.startsWith(MILESTONE.outcome))).toEqual([
      `${MILESTONE.outcome} (+3s) — 1.900 → 1.400 measured by the collector (episodes before the first rollout vs the last 8 on the committed maps, 56% of the excess over 1 removed)`,
    ]);
    // a measured outcome later is its own line, not the headline again
    const outcome = { measured: { before: { imbalance: 1.9, interval: 3 }, after: { imbalance: 1.4, interval: 6 }, gain: 0.5, excessRemoved: 0.56, projected: null }, why: null };
    expect(m.next({ ...s, rollouts: [{ ...done, outcome }], episodes: served(8) }, 4000)).toEqual([
      'demo: outcome of rollout bbbbbbbb (+4s) — 1.900 → 1.400 measured by the collector (intervals 3 → 6, rollout bbbbbbbb, 56% of the excess over 1 removed)',
    ]);
  });
});
