import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAgainstDeployment, HeatDeploymentView, heatEventV1Schema, parseHeatEvent } from './heat-event.v1';

const now = Date.parse('2026-11-23T06:00:00.000Z');
const deployment: HeatDeploymentView = { numLayers: 2, numRanks: 4, slotsPerRank: 3, latestMapVersion: 12 };
const base = {
  v: 1,
  deployment: 'dsv3-a',
  rank: 3,
  step: 1048576,
  steps: 1,
  phase: 'decode',
  mapVersion: 12,
  layerVersions: null,
  ts: '2026-11-23T06:00:00.000Z',
  load: [
    [0, 17, 4],
    [9, 0, 33],
  ],
};
const verdict = (over: Record<string, unknown>) => {
  const v = parseHeatEvent(JSON.stringify({ ...base, ...over }));
  if (!v.ok) return v.reason;
  return checkAgainstDeployment(v.event, deployment, now, 30) ?? 'ok';
};

describe('eplb.heat.v1', () => {
  it('accepts the example of docs/design.md', () => {
    expect(verdict({})).toBe('ok');
    expect(verdict({ ts: '2026-10-24T06:00:00.000Z' })).toBe('ok');
    expect(verdict({ ts: '2026-11-23T06:05:00.000Z' })).toBe('ok');
    expect(verdict({ layerVersions: [11, 12] })).toBe('ok');
  });

  it.each([
    [{ v: 2 }, 'v: Invalid input: expected 1'],
    [{ rank: -1 }, 'rank: Too small: expected number to be >=0'],
    [{ phase: 'warmup' }, 'phase: Invalid option: expected one of "prefill"|"decode"|"mixed"'],
    [{ load: [[0, -1, 4], [9, 0, 33]] }, 'load.0.1: must be a non-negative count'],
    [{ load: [[0, 1.5, 4], [9, 0, 33]] }, 'load.0.1: must be an integer count'],
    [{ load: [[0, 1, 4]] }, 'load: has 1 layers, expected 2'],
    [{ load: [[0, 1, 4], [9, 0]] }, 'load.1: has 2 slots, expected 3'],
    [{ rank: 4 }, 'rank: 4 is not a rank of dsv3-a (0..3)'],
    [{ mapVersion: 13 }, 'mapVersion: 13 is unknown for dsv3-a (latest 12)'],
    [{ layerVersions: [12] }, 'layerVersions: has 1 entries, expected 2'],
    [{ layerVersions: [12, 14] }, 'layerVersions.1: 14 is unknown for dsv3-a'],
    [{ ts: '2026-11-23T07:00:00.000Z' }, 'ts: 2026-11-23T07:00:00.000Z is more than 300s in the future'],
    [{ ts: '2026-10-24T05:59:59.999Z' }, 'ts: 2026-10-24T05:59:59.999Z is older than the 30-day heat retention'],
    [{ ts: '0001-01-01T00:00:00.000Z' }, 'ts: 0001-01-01T00:00:00.000Z is older than the 30-day heat retention'],
    [{ ts: 'yesterday' }, 'ts: Invalid ISO datetime'],
    [{ extra: 1 }, '(root): Unrecognized key: "extra"'],
    [{ deployment: 'DSV3 A' }, 'deployment: must be a deployment id (lowercase letters, digits, . _ -)'],
  ])('rejects %j with a reason naming the field', (over, reason) => {
    expect(verdict(over)).toBe(reason);
  });

  it('rejects what is not JSON, or nothing at all', () => {
    expect(parseHeatEvent('{"v":1,')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON: /) });
    expect(parseHeatEvent(null)).toEqual({ ok: false, reason: 'empty message' });
    expect(parseHeatEvent(Buffer.from([0xff, 0xfe, 0x00]))).toMatchObject({ ok: false });
    expect(parseHeatEvent('[]')).toMatchObject({ ok: false, reason: '(root): Invalid input: expected object, received array' });
  });

  it('accepts a clock slightly ahead or behind within the retention window, nothing older', () => {
    expect(verdict({ ts: '2026-11-23T06:04:59.000Z' })).toBe('ok');
    expect(verdict({ ts: '2026-11-01T00:00:00.000Z' })).toBe('ok');
    expect(verdict({ ts: '2020-01-01T00:00:00.000Z' })).toBe('ts: 2020-01-01T00:00:00.000Z is older than the 30-day heat retention');
  });

  it('accepts exactly what the schema accepts, on fuzzed events', () => {
    const anyValue = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double(), fc.string(), fc.constant(null), fc.boolean(), fc.array(fc.integer({ min: -1, max: 5 })));
    const field = fc.constantFrom(...Object.keys(base), 'extra');
    const mutation = fc.record({ field, value: anyValue, drop: fc.boolean() });
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 3 }), fc.constantFrom('2026-11-23T06:00:00Z', '2026-11-23T06:00:00.123+01:00', '2026-13-01T00:00:00Z', '2026-11-23 06:00'), (mutations, ts) => {
        const event: Record<string, unknown> = { ...base, ts };
        for (const m of mutations) {
          if (m.drop) delete event[m.field];
          else event[m.field] = m.value;
        }
        const verdict = parseHeatEvent(JSON.stringify(event));
        expect(verdict.ok).toBe(heatEventV1Schema.safeParse(JSON.parse(JSON.stringify(event))).success);
      }),
      { numRuns: 2000 },
    );
  });
});
