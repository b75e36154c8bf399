import { describe, expect, it } from 'vitest';
import { decideEmergency, lostRanks } from './lost-ranks';

describe('lostRanks', () => {
  it('takes ranks agents report gone, and ranks silent in each newest episode while their agent is alive', () => {
    const episodes = [{ missingRanks: [2, 5] }, { missingRanks: [5, 2] }, { missingRanks: [5] }, { missingRanks: [] }];
    const lost = lostRanks({ episodes, silentEpisodes: 3, reported: [7], agentAlive: () => true });
    expect(lost.map((l) => l.rank)).toEqual([5, 7]);
    expect(lost[0].why).toContain('no heat from rank 5 in the last 3 episodes');
    expect(lost[1].why).toContain('reports rank 7 gone');
  });
  it('a silent rank whose agent is not alive is a node problem, not a lost rank; too few episodes decide nothing', () => {
    expect(lostRanks({ episodes: [{ missingRanks: [1] }, { missingRanks: [1] }], silentEpisodes: 2, reported: [], agentAlive: () => false })).toEqual([]);
    expect(lostRanks({ episodes: [{ missingRanks: [1] }], silentEpisodes: 2, reported: [], agentAlive: () => true })).toEqual([]);
  });
});

describe('decideEmergency', () => {
  const lost = [{ rank: 3, why: 'gone' }];
  it('plans around a lost rank not yet handled, in approve and auto, never in observe', () => {
    expect(decideEmergency({ mode: 'approve', lost, handled: [], rolloutInFlight: false })).toMatchObject({ kind: 'plan', ranks: [3] });
    expect(decideEmergency({ mode: 'auto', lost, handled: [], rolloutInFlight: false }).kind).toBe('plan');
    expect(decideEmergency({ mode: 'observe', lost, handled: [], rolloutInFlight: false }).kind).toBe('none');
  });
  it('waits for a rollout in flight; a handled rank is not planned again, but stays left out when another is lost', () => {
    expect(decideEmergency({ mode: 'auto', lost, handled: [], rolloutInFlight: true }).kind).toBe('wait');
    expect(decideEmergency({ mode: 'auto', lost, handled: [3], rolloutInFlight: false }).kind).toBe('none');
    expect(decideEmergency({ mode: 'auto', lost: [...lost, { rank: 6, why: 'silent' }], handled: [3], rolloutInFlight: false })).toMatchObject({ kind: 'plan', ranks: [3, 6] });
  });
});
