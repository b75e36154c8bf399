import { describe, expect, it } from 'vitest';
import { isRolloutAckV1, isRolloutCommandV1 } from './rollout-message-check';
import { parseRolloutAck, parseRolloutCommand, rolloutAckV1Schema, rolloutCommandV1Schema } from './rollout-messages.v1';

const part = {
  layer: 3,
  agent: 1,
  ranks: [2, 3],
  version: 2,
  row: [0, 1, 2, 3],
  receives: [{ slot: 4, expert: 1, source: 0, link: 'remote' }],
  sends: [{ fromRank: 2, toRank: 0, slot: 4, expert: 2, link: 'node' }],
  bytesIn: 64,
  bytesOut: 32.5,
};
const binding = { v: 1, deployment: 'dsv3', rolloutId: 'r1', rolloutSeq: 1, generation: 3, expiresAt: 2, sentAt: 1 };
const commands: unknown[] = [
  { ...binding, command: { kind: 'prepare', layer: 3, attempt: 1, agent: 1, part } },
  { ...binding, command: { kind: 'prepare', layer: 3, attempt: 2, agent: 1, part, bytesPerSecond: 1.5, repair: true } },
  { ...binding, command: { kind: 'commit', layer: 3, attempt: 1, agent: 1, ranks: [2, 3] } },
  { ...binding, command: { kind: 'abort', layer: 0, attempt: 1, agent: 0, ranks: [0] } },
];
const holdings = { layer: 3, version: 2, ranks: [{ rank: 2, experts: [1, 2], checksums: ['a', ''] }] };
const head = { v: 1, deployment: 'dsv3', node: 1, sentAt: 1, expiresAt: 2 };
const acks: unknown[] = [
  { ...head, type: 'ack', generation: 3, ack: { rolloutId: 'r1', layer: 3, attempt: 1, agent: 1, ranks: [2], phase: 'commit', ok: true, holdings } },
  { ...head, type: 'ack', generation: 0, ack: { rolloutId: 'r1', layer: 3, attempt: 1, agent: 1, ranks: [], phase: 'prepare', ok: false, error: 'no' } },
  { ...head, type: 'heartbeat', ranks: [2, 3] },
  { ...head, type: 'heartbeat', ranks: [2, 3], lostRanks: [3] },
  { ...head, type: 'holdings', ranks: [2, 3], layers: [holdings, { layer: 4, version: 1, ranks: [] }], lostRanks: [] },
];

const BAD_VALUES: unknown[] = [undefined, null, -1, 0, 1.5, 2 ** 53, 'x', '', 'x'.repeat(2001), true, [], [-1], [1.5], {}, 'rdma', 'Demo'];

/** Every message one corruption away from `msg`: each field (at any depth) removed or replaced by each bad value, and an unknown key added to each object. */
function corruptions(msg: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (x: unknown, rebuild: (v: unknown) => unknown) => {
    if (Array.isArray(x)) {
      x.forEach((v, i) => {
        for (const bad of BAD_VALUES) out.push(rebuild(x.map((y, j) => (j === i ? bad : y))));
        walk(v, (nv) => rebuild(x.map((y, j) => (j === i ? nv : y))));
      });
      return;
    }
    if (typeof x !== 'object' || x === null) return;
    const o = x as Record<string, unknown>;
    out.push(rebuild({ ...o, extra: 1 }));
    for (const k of Object.keys(o)) {
      const { [k]: _, ...without } = o;
      out.push(rebuild(without));
      for (const bad of BAD_VALUES) out.push(rebuild({ ...o, [k]: bad }));
      walk(o[k], (nv) => rebuild({ ...o, [k]: nv }));
    }
  };
  walk(msg, (v) => v);
  // as JSON carries them (no undefined values)
  return out.map((m) => JSON.parse(JSON.stringify(m)) as unknown);
}

describe('rollout message checks', () => {
  it('take every valid command and agent message as the schemas do', () => {
    for (const c of commands) expect([isRolloutCommandV1(c), rolloutCommandV1Schema.safeParse(c).success]).toEqual([true, true]);
    for (const a of acks) expect([isRolloutAckV1(a), rolloutAckV1Schema.safeParse(a).success]).toEqual([true, true]);
  });

  it('accept nothing the schemas refuse: every single-field corruption of a valid message', () => {
    let refused = 0;
    for (const [check, schema, valid] of [
      [isRolloutCommandV1, rolloutCommandV1Schema, commands],
      [isRolloutAckV1, rolloutAckV1Schema, acks],
    ] as const) {
      for (const m of valid.flatMap(corruptions)) {
        const zodOk = schema.safeParse(m).success;
        if (check(m)) expect({ message: m, zodOk }).toEqual({ message: m, zodOk: true });
        if (!zodOk) refused++;
      }
    }
    // the corruptions are mostly invalid: the property is tested on refusals, not only on acceptances
    expect(refused).toBeGreaterThan(1000);
  });

  it('a refused message still gets the schema\'s reason naming the field, never a throw', () => {
    const prepare = commands[0] as { command: { part: object } };
    const bad = { ...prepare, command: { ...prepare.command, part: { ...part, receives: [{ ...part.receives[0], link: 'rdma' }] } } };
    expect(parseRolloutCommand(JSON.stringify(bad))).toEqual({ ok: false, reason: 'command.part.receives.0.link: must be one of local, node, remote' });
    expect(parseRolloutAck(JSON.stringify({ ...(acks[2] as object), ranks: [1, -1] }))).toEqual({ ok: false, reason: 'ranks.1: must be a non-negative integer' });
    for (const raw of ['', 'not json', '[]', 'null', '{"v":1,"type":"ack"}', '{"__proto__":{"v":1}}']) {
      expect(parseRolloutAck(raw).ok).toBe(false);
      expect(parseRolloutCommand(raw).ok).toBe(false);
    }
  });
});
