import { describe, expect, it } from 'vitest';
import { parseRolloutAck, parseRolloutCommand } from './rollout-messages.v1';

const part = {
  layer: 3,
  agent: 1,
  ranks: [2, 3],
  version: 2,
  row: [0, 1, 2, 3, 4, 5, 6, 7],
  receives: [
    { slot: 4, expert: 1, source: 0, link: 'remote' },
    { slot: 5, expert: 0, source: 4, link: 'local' },
  ],
  sends: [{ fromRank: 2, toRank: 0, slot: 4, expert: 2, link: 'node' }],
  bytesIn: 64,
  bytesOut: 32,
};
const prepare = (over: Record<string, unknown> = {}, partOver: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, deployment: 'dsv3', rolloutId: 'r1', rolloutSeq: 1, generation: 3, expiresAt: 2, command: { kind: 'prepare', layer: 3, attempt: 1, agent: 1, part: { ...part, ...partOver }, ...over }, sentAt: 1 });
const reason = (r: ReturnType<typeof parseRolloutCommand | typeof parseRolloutAck>) => (r.ok ? 'ok' : r.reason);

describe('rollout messages v1', () => {
  it('parses a prepare command with its plan part as sent', () => {
    const r = parseRolloutCommand(prepare());
    expect(r.ok && r.message.command).toEqual({ kind: 'prepare', layer: 3, attempt: 1, agent: 1, part });
  });

  it('names the offending element of the row, the receives and the sends', () => {
    expect(reason(parseRolloutCommand(prepare({}, { row: [0, 1, -2] })))).toBe('command.part.row.2: must be a non-negative integer');
    expect(reason(parseRolloutCommand(prepare({}, { row: [] })))).toBe('command.part.row: must have at least 1 item(s)');
    expect(reason(parseRolloutCommand(prepare({}, { row: 'x' })))).toBe('command.part.row: must be an array of non-negative integers');
    expect(reason(parseRolloutCommand(prepare({}, { receives: [part.receives[0], { slot: 5, expert: 0, link: 'local' }] })))).toBe(
      'command.part.receives.1.source: must be a non-negative integer',
    );
    expect(reason(parseRolloutCommand(prepare({}, { receives: [{ ...part.receives[0], link: 'rdma' }] })))).toBe('command.part.receives.0.link: must be one of local, node, remote');
    expect(reason(parseRolloutCommand(prepare({}, { receives: [{ ...part.receives[0], extra: 1 }] })))).toBe('command.part.receives.0: unrecognized key(s): extra');
    expect(reason(parseRolloutCommand(prepare({}, { sends: [null] })))).toBe('command.part.sends.0: must be an object');
    expect(reason(parseRolloutCommand(prepare({}, { ranks: [2, 1.5] })))).toBe('command.part.ranks.1: must be a non-negative integer');
  });

  it('checks commit and abort ranks and the ack holdings the same way', () => {
    const commit = (ranks: unknown) => JSON.stringify({ v: 1, deployment: 'dsv3', rolloutId: 'r1', rolloutSeq: 1, generation: 3, expiresAt: 2, command: { kind: 'commit', layer: 3, attempt: 1, agent: 1, ranks }, sentAt: 1 });
    expect(reason(parseRolloutCommand(commit([2, 3])))).toBe('ok');
    expect(reason(parseRolloutCommand(commit([])))).toBe('command.ranks: must have at least 1 item(s)');
    const ack = (checksums: unknown, experts: unknown = [1, 2]) =>
      JSON.stringify({
        v: 1,
        type: 'ack',
        deployment: 'dsv3',
        node: 1,
        generation: 3,
        sentAt: 1,
        expiresAt: 2,
        ack: { rolloutId: 'r1', layer: 3, attempt: 1, agent: 1, ranks: [2], phase: 'commit', ok: true, holdings: { layer: 3, version: 2, ranks: [{ rank: 2, experts, checksums }] } },
      });
    expect(reason(parseRolloutAck(ack(['a', 'b'])))).toBe('ok');
    expect(reason(parseRolloutAck(ack(['a', 7])))).toBe('ack.holdings.ranks.0.checksums.1: must be a string of at most 128 characters');
    expect(reason(parseRolloutAck(ack(['a', 'b'], [1, 'x'])))).toBe('ack.holdings.ranks.0.experts.1: must be a non-negative integer');
  });

  it('binds a command to its rollout, fence generation and expiry: one without them is refused', () => {
    const bare = JSON.stringify({ v: 1, deployment: 'dsv3', rolloutId: 'r1', command: { kind: 'abort', layer: 3, attempt: 1, agent: 1, ranks: [2, 3] }, sentAt: 1 });
    expect(reason(parseRolloutCommand(bare))).toMatch(/^rolloutSeq: /);
  });
});
