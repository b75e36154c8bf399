import { describe, expect, it } from 'vitest';
import { ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentRollouts, rolloutMachineEvents, RolloutStreamEvent, versionsPerLayer } from './deployment-rollouts.projection';

let id = 0;
const ev = (type: string, payload: Record<string, unknown>): RolloutStreamEvent => ({
  id: String(++id),
  stream: 'rollouts:d',
  type,
  payload,
  actor: 'token:ops',
  reason: `${type} because`,
  correlationId: 'c',
});

/** The map in service once the log is folded through `events[lastIndex]` (−1: none of it): what the view's snapshots must equal. */
const committedVersionsThrough = (events: readonly RolloutStreamEvent[], lastIndex: number, layers: number): number[] => {
  const view = new DeploymentRollouts('d');
  for (const e of events.slice(0, lastIndex + 1)) view.apply(e);
  return view.committedVersions(layers);
};

describe('DeploymentRollouts: the fold over rollouts:<deployment>', () => {
  it('follows a request from REQUESTED through RUNNING to its recorded end; committed layers move the map', () => {
    const v = new DeploymentRollouts('d');
    v.apply(ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r1', mapVersion: 2 }));
    expect(v.status('r1')).toBe('REQUESTED');
    expect(v.pending().map((r) => r.payload.rolloutId)).toEqual(['r1']);
    expect(v.active()).toBeNull();

    expect(v.startOrder('r1')).toBe(0);
    v.apply(ev(ROLLOUT_EVENTS.started, { rolloutId: 'r1', fromVersion: 1, toVersion: 2 }));
    expect(v.status('r1')).toBe('RUNNING');
    expect(v.startOrder('r1')).toBe(1);
    expect(v.active()).toBe('r1');
    expect(v.pending()).toEqual([]);

    v.apply(ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 1, version: 2 }));
    expect(v.committedVersions(3)).toEqual([1, 2, 1]);
    v.apply(ev(ROLLOUT_EVENTS.finished, { rolloutId: 'r1', status: 'ABORTED', failure: { reason: 'x', at: 1 } }));
    expect(v.status('r1')).toBe('ABORTED');
    expect(v.finished.get('r1')).toMatchObject({ status: 'ABORTED', failure: { reason: 'x', at: 1 } });
    expect(v.active()).toBeNull();
    expect(v.committedVersions(3, 4)).toEqual([4, 2, 4]);
  });

  it('names the map in service: the version on every layer; while a rollout runs, the one it started from; null when held mixed', () => {
    const v = new DeploymentRollouts('d');
    expect(v.inService(2)).toBe(1);
    v.apply(ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r1', mapVersion: 3 }));
    v.apply(ev(ROLLOUT_EVENTS.started, { rolloutId: 'r1', fromVersion: 1, toVersion: 3 }));
    v.apply(ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 0, version: 3 }));
    expect(v.inService(2)).toBe(1);
    v.apply(ev(ROLLOUT_EVENTS.finished, { rolloutId: 'r1', status: 'ABORTED', failure: null }));
    expect(v.inService(2)).toBeNull();
    v.apply(ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r2', layer: 1, version: 3 }));
    expect(v.inService(2)).toBe(3);
  });

  it("keeps each rollout's measured outcome, the first recorded one", () => {
    const v = new DeploymentRollouts('d');
    const measured = { rolloutId: 'r1', status: 'SUCCEEDED', fromVersion: 1, toVersion: 2, outcome: null, why: 'no interval was sealed before the rollout started' };
    v.apply(ev(ROLLOUT_EVENTS.outcomeMeasured, measured));
    v.apply(ev(ROLLOUT_EVENTS.outcomeMeasured, { ...measured, why: 'a second instance measured it too' }));
    expect([...v.outcomes.entries()]).toEqual([['r1', measured]]);
  });

  it('a rejected request is neither pending nor active, and says why', () => {
    const v = new DeploymentRollouts('d');
    v.apply(ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r1', mapVersion: 1 }));
    v.apply(ev(ROLLOUT_EVENTS.rejected, { rolloutId: 'r1', why: 'every layer is already on version 1' }));
    v.apply(ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r2', mapVersion: 2 }));
    expect(v.status('r1')).toBe('REJECTED');
    expect(v.rejected.get('r1')).toBe('every layer is already on version 1');
    expect(v.pending().map((r) => r.payload.rolloutId)).toEqual(['r2']);
  });

  it('folding an event twice changes nothing (a reader re-reads a window below its cursor)', () => {
    const v = new DeploymentRollouts('d');
    const control = ev(ROLLOUT_EVENTS.controlRequested, { rolloutId: 'r1', action: 'pause' });
    v.apply(control);
    v.apply(control);
    expect(v.controls.map((c) => [c.eventId, c.payload.action, c.actor, c.reason])).toEqual([[control.id, 'pause', 'token:ops', control.reason]]);
  });

  it('events of other types are ignored; machine events are the rollout.* ones of a rollout stream', () => {
    const v = new DeploymentRollouts('d');
    v.apply(ev('deployment.created', { rolloutId: 'r1' }));
    expect(v.requests.size + v.started.size + v.finished.size + v.controls.length).toBe(0);
    expect(rolloutMachineEvents([{ type: 'rollout.created', payload: { type: 'created', at: 1 } }, { type: 'agent.connected', payload: {} }])).toEqual([{ type: 'created', at: 1 }]);
  });

  it('names the map in service at a point of the log: before a rollout started, and where it left the layers', () => {
    const log = [
      ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r1', mapVersion: 2 }),
      ev(ROLLOUT_EVENTS.started, { rolloutId: 'r1', fromVersion: 1, toVersion: 2 }),
      ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 0, version: 2 }),
      ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 1, version: 2 }),
      ev(ROLLOUT_EVENTS.finished, { rolloutId: 'r1', status: 'SUCCEEDED', failure: null }),
      ev(ROLLOUT_EVENTS.started, { rolloutId: 'r2', fromVersion: 2, toVersion: 3 }),
      ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r2', layer: 1, version: 3 }),
    ];
    expect(committedVersionsThrough(log, -1, 2)).toEqual([1, 1]);
    expect(committedVersionsThrough(log, 0, 2)).toEqual([1, 1]);
    expect(committedVersionsThrough(log, 4, 2)).toEqual([2, 2]);
    expect(committedVersionsThrough(log, log.length - 1, 2)).toEqual([2, 3]);
  });

  it("keeps, as it folds, what a rollout's outcome is measured from: the maps it found and left, the finish before it, the start after it", () => {
    const at = (ms: number, e: RolloutStreamEvent): RolloutStreamEvent => ({ ...e, occurredAt: new Date(ms) });
    const log = [
      at(100, ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r1', mapVersion: 2 })),
      at(200, ev(ROLLOUT_EVENTS.started, { rolloutId: 'r1', fromVersion: 1, toVersion: 2, layers: [0, 1, 2] })),
      at(300, ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 0, version: 2 })),
      at(400, ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 1, version: 2 })),
      // rolled back after two layers: one stays where the rollback left it
      at(500, ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 0, version: 1 })),
      at(600, ev(ROLLOUT_EVENTS.finished, { rolloutId: 'r1', status: 'ROLLED_BACK', failure: { reason: 'gate', at: 5 } })),
      at(700, ev(ROLLOUT_EVENTS.outcomeMeasured, { rolloutId: 'r0' })),
      at(800, ev(ROLLOUT_EVENTS.started, { rolloutId: 'r2', fromVersion: 1, toVersion: 3, layers: [2] })),
      at(900, ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r2', layer: 2, version: 3 })),
      at(1000, ev(ROLLOUT_EVENTS.finished, { rolloutId: 'r2', status: 'SUCCEEDED', failure: null })),
      at(1100, ev(ROLLOUT_EVENTS.started, { rolloutId: 'r3', fromVersion: 1, toVersion: 4, layers: [0] })),
    ];
    const v = new DeploymentRollouts('d');
    for (const e of log) v.apply(e);
    for (const e of log.slice(3)) v.apply(e); // a re-read window: changes nothing
    const index = (type: string, rid: string) => log.findIndex((e) => e.type === type && e.payload.rolloutId === rid);
    for (const rid of ['r1', 'r2', 'r3']) {
      const s = index(ROLLOUT_EVENTS.started, rid);
      const inputs = v.outcomeInputs.get(rid)!;
      expect(versionsPerLayer(inputs.before, 3)).toEqual(committedVersionsThrough(log, s - 1, 3));
      expect(inputs.previousFinishedAt ?? null).toEqual(log.slice(0, s).filter((e) => e.type === ROLLOUT_EVENTS.finished).pop()?.occurredAt ?? null);
      const f = index(ROLLOUT_EVENTS.finished, rid);
      if (f < 0) {
        expect([v.finished.has(rid), inputs.after]).toEqual([false, undefined]);
        continue;
      }
      expect(versionsPerLayer(inputs.after!, 3)).toEqual(committedVersionsThrough(log, f, 3));
      expect(v.finished.get(rid)!.finishedAt).toEqual(log[f].occurredAt);
      expect(inputs.nextStartedAt ?? null).toEqual(log.slice(f + 1).find((e) => e.type === ROLLOUT_EVENTS.started)?.occurredAt ?? null);
    }
    expect(versionsPerLayer(v.outcomeInputs.get('r1')!.after!, 3)).toEqual([1, 2, 1]);
    expect(v.outcomeInputs.get('r1')!.nextStartedAt).toEqual(new Date(800));
    // kept only until the rollout's outcome is recorded
    v.apply(at(1200, ev(ROLLOUT_EVENTS.outcomeMeasured, { rolloutId: 'r1' })));
    expect([...v.outcomeInputs.keys()]).toEqual(['r2', 'r3']);
  });

  it('forgets the ids folded below a point, so a follower keeps those of its re-read window only', () => {
    const v = new DeploymentRollouts('d');
    const requested = (n: number, rid: string) => ({ ...ev(ROLLOUT_EVENTS.requested, { rolloutId: rid, mapVersion: n }), id: String(n) });
    for (const n of [998, 999, 1000, 1001]) v.apply(requested(n, `r${n}`));
    v.forgetBelow(1000n);
    // ids at or above the point are still known: read again, they change nothing
    v.apply({ ...requested(1000, 'other'), payload: { rolloutId: 'r1000', mapVersion: 7 } });
    expect(v.requests.get('r1000')!.payload.mapVersion).toBe(1000);
    // below it the fold no longer knows them (a follower never reads there again)
    v.apply({ ...requested(999, 'r999'), payload: { rolloutId: 'r999', mapVersion: 5 } });
    expect(v.requests.get('r999')!.payload.mapVersion).toBe(5);
  });

  it("keeps what the automatic loop decides on as it folds: settled versions, automatic requests' times, the last finished rollout and the map it left, ranks planned around", () => {
    const at = (ms: number, e: RolloutStreamEvent): RolloutStreamEvent => ({ ...e, occurredAt: new Date(ms) });
    const v = new DeploymentRollouts('d');
    expect([v.settledVersion, v.lastFinished, v.automaticRequests.length, v.plannedAround.size]).toEqual([0, null, 0, 0]);
    v.apply(at(1000, ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r1', mapVersion: 2, automatic: true })));
    v.apply(ev(ROLLOUT_EVENTS.started, { rolloutId: 'r1', fromVersion: 1, toVersion: 2 }));
    v.apply(ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r1', layer: 0, version: 2 }));
    const finished = at(5000, ev(ROLLOUT_EVENTS.finished, { rolloutId: 'r1', status: 'ROLLED_BACK', failure: { reason: 'gate', at: 4 } }));
    v.apply(finished);
    v.apply(ev(ROLLOUT_EVENTS.versionDiscarded, { version: 4, parentVersion: 1 }));
    v.apply(at(7000, ev(ROLLOUT_EVENTS.requested, { rolloutId: 'r2', mapVersion: 3 })));
    v.apply(ev(ROLLOUT_EVENTS.started, { rolloutId: 'r2', fromVersion: 2, toVersion: 3 }));
    v.apply(ev(ROLLOUT_EVENTS.layerCommitted, { rolloutId: 'r2', layer: 1, version: 3 }));
    v.apply(ev(ROLLOUT_EVENTS.emergencyPlanned, { lostRanks: [3, 17], mapVersion: null, rolloutId: null }));
    v.apply(finished); // read again in a re-read window: changes nothing

    expect(v.settledVersion).toBe(4);
    expect(v.automaticRequests.map((d) => d.getTime())).toEqual([1000]);
    expect(v.lastFinished).toMatchObject({ rolloutId: 'r1', status: 'ROLLED_BACK', failed: true, finishedAt: new Date(5000) });
    // the map r1 left, not the layer r2 committed since
    expect(versionsPerLayer(v.lastFinished!.committed, 2)).toEqual([2, 1]);
    expect(v.committedVersions(2)).toEqual([2, 3]);
    expect([...v.plannedAround]).toEqual([3, 17]);
  });
});
