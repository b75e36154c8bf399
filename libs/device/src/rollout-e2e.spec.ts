import { afterEach, describe, expect, it } from 'vitest';
import {
  DeploymentShape,
  RolloutAck,
  RolloutEvent,
  RolloutState,
  advanceRollout,
  defaultRolloutOptions,
  isRolloutTerminal,
  planRollout,
  reduceRollout,
  replayRollout,
} from '@eplb/domain';
import { CommandExecutor } from './command-executor';
import { SimulatedBackend } from './simulated-backend';
import { expectedChecksum, weightManifest } from './weights';

/**
 * The rollout state machine driving CommandExecutors on SimulatedBackends over loopback TCP:
 * 12 ranks on 3 agents, 4 layers, the forward plan and, after a fault, the rollback — and every
 * rank's weights (checksums of the bytes) match the version the event log gives each layer.
 */
const BYTES = 1024;
const shape: DeploymentShape = { numLayers: 4, numExperts: 16, numRanks: 12, slotsPerRank: 2, numNodes: 3 };
const current = Array.from({ length: 4 }, (_, l) => Array.from({ length: 24 }, (_, p) => (p + l) % 16));
const target = Array.from({ length: 4 }, (_, l) => Array.from({ length: 24 }, (_, p) => (p * 5 + 3 * l) % 16));
const backends: SimulatedBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

/** `window`: layers in flight at once (default: the machine's default, several). */
async function run(opts: { failLayer?: number; crashAt?: number; window?: number }): Promise<{ state: RolloutState; events: RolloutEvent[] }> {
  const plan = planRollout({
    rolloutId: 'e2e',
    deployment: 'd',
    shape,
    fromVersion: 1,
    toVersion: 2,
    current,
    target,
    expertBytes: BYTES,
    steps: [1, 'rest'],
    checksums: weightManifest(4, 16, BYTES),
  });
  const bs = Array.from({ length: 3 }, (_, a) => new SimulatedBackend({ shape, agent: a, map: current, version: 1, expertBytes: BYTES }));
  backends.push(...bs);
  const ports = await Promise.all(bs.map((b) => b.listen(0)));
  for (const b of bs) b.setPeers(Object.fromEntries(ports.map((port, a) => [a, { host: '127.0.0.1', port }])));
  if (opts.failLayer !== undefined) bs[2].faults.failPrepareLayers = [opts.failLayer];
  const agents = bs.map((b, a) => new CommandExecutor(b, 'e2e', a, b.ranks));

  const events: RolloutEvent[] = [{ type: 'created', at: 0, plan, options: { ...defaultRolloutOptions, resendMs: 50, ...(opts.window ? { window: opts.window } : {}) } }];
  let state = reduceRollout(null, events[0]);
  let now = 0;
  for (let round = 0; round < 200 && !isRolloutTerminal(state); round++) {
    now += 10;
    const step = advanceRollout(state, now);
    events.push(...step.events);
    state = step.state;
    if (round === opts.crashAt && step.send.length > 0) {
      // crashed after recording its decision, before sending it: restart from the log
      state = replayRollout(events);
      events.push({ type: 'restarted', at: now });
      state = reduceRollout(state, events[events.length - 1]);
      opts.crashAt = -1; // once
      continue;
    }
    const acks = (await Promise.all(step.send.map((c) => agents[c.agent].handle(c)))).filter((a): a is RolloutAck => a !== null);
    for (const ack of acks) {
      const ev: RolloutEvent = { type: 'ack', at: now, ack };
      events.push(ev);
      state = reduceRollout(state, ev);
    }
  }
  // what every rank holds matches the log, layer by layer, byte checksums included
  const S = shape.slotsPerRank;
  for (const lv of replayRollout(events).layers) {
    const want = lv.version === 2 ? target[lv.layer] : current[lv.layer];
    for (const b of bs) {
      const lh = (await b.describe([lv.layer])).layers[0];
      expect(lh.version).toBe(lv.version);
      for (const rh of lh.ranks) {
        const row = want.slice(rh.rank * S, rh.rank * S + S);
        expect(rh.experts).toEqual(row);
        expect(rh.checksums).toEqual(row.map((e) => expectedChecksum(lv.layer, e, BYTES)));
      }
    }
  }
  return { state, events };
}

describe('rollout over simulated backends (loopback TCP)', () => {
  it('deploys every layer and every rank holds the target weights', async () => {
    const { state } = await run({});
    expect(state.status).toBe('SUCCEEDED');
    expect(state.layers.every((l) => l.version === 2)).toBe(true);
  });

  it('an agent failing mid-rollout: the layer is aborted, committed layers rolled back, the previous weights on every rank', async () => {
    const plan = planRollout({ rolloutId: 'x', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: BYTES });
    const third = plan.layers[2].layer;
    // one layer after the other: the first two commit before the third stages
    const { state } = await run({ failLayer: third, window: 1 });
    expect(state.status).toBe('ROLLED_BACK');
    expect(state.failure?.reason).toMatch(new RegExp(`layer ${third}: agent 2 failed to prepare: injected fault`));
    expect(state.layers.map((l) => l.status)).toEqual(['ROLLED_BACK', 'ROLLED_BACK', 'ABORTED', 'PENDING']);
  });

  it('with several layers in flight, an agent failing on one aborts every layer still staging; the previous weights on every rank', async () => {
    const plan = planRollout({ rolloutId: 'x', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: BYTES });
    const { state } = await run({ failLayer: plan.layers[2].layer, window: 3 });
    expect(state.status).toBe('ROLLED_BACK');
    expect(state.layers.every((l) => l.version === 1 && l.status !== 'COMMITTED')).toBe(true);
    for (const b of backends) {
      expect(b.stagedLayers()).toEqual([]);
      for (const lh of (await b.describe()).layers) expect(lh.version).toBe(1);
    }
  });

  it('a service crash between recording and sending (prepare or commit) is resumed from the log', async () => {
    for (const crashAt of [0, 1, 2, 3, 5]) {
      const { state } = await run({ crashAt });
      expect(state.status).toBe('SUCCEEDED');
      await Promise.all(backends.splice(0).map((b) => b.close()));
    }
  });
});
