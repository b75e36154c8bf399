import { describe, expect, it } from 'vitest';
import { DomainError, propose, roundRobinMap } from '@eplb/domain';
import { proposeInThread, ProposalTimeLimitError } from './propose-in-thread';

const shape = { numLayers: 2, numExperts: 8, numRanks: 4, slotsPerRank: 3, numNodes: 2 };
const settings = { policy: 'default', threshold: 0.02, minGain: 0.01, maxTransfers: null, expertBytes: 1_000_000 };
const loads = () => Array.from({ length: 4 }, (_, k) => Float64Array.from({ length: 16 }, (_, i) => ((i * 7 + k * 3) % 11) + (i % 8 === 0 ? 50 : 1)));

describe('proposeInThread', () => {
  it('answers what propose answers on this thread', async () => {
    const current = roundRobinMap(shape);
    const heat = loads().map((v) => [v.subarray(0, 8), v.subarray(8, 16)]);
    const expected = propose(shape, heat, current, settings);
    await expect(proposeInThread({ shape, loads: loads(), current, settings }, 60_000)).resolves.toEqual(expected);
  });

  it('rebuilds the domain error that refused the job', async () => {
    const err = await proposeInThread({ shape, loads: loads(), current: roundRobinMap(shape), settings: { ...settings, policy: 'no-such-policy' } }, 60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('invalid');
  });

  it('stops the thread and refuses when the time limit passes first', async () => {
    await expect(proposeInThread({ shape, loads: loads(), current: roundRobinMap(shape), settings }, 1)).rejects.toBeInstanceOf(ProposalTimeLimitError);
  });
});
