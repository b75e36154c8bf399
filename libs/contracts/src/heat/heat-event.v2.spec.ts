import { describe, expect, it } from 'vitest';
import { parseHeatReport } from './heat-event';
import { checkAgainstDeployment } from './heat-event.v1';
import { decodeHeatEventV2, encodeHeatEventV2 } from './heat-event.v2';

// The bytes the Python publisher's encoder writes for these events (python/tests/test_publisher.py).
const GOLDEN = Buffer.from(
  '02010106647376332d6103000000010000000c00000002000300000000000000304100b0e765e51e7a42' + '0c0000000b000000000000001100000004000000090000000000000021000000',
  'hex',
);
const GOLDEN_WIDE = Buffer.from(
  '02000206647376332d6103000000010000000c00000002000300000000000000304100b0e765e51e7a42' +
    '000000000000000000000000000031400000000000001040000000000000224000000000000000000000000000007042',
  'hex',
);
const event = {
  deployment: 'dsv3-a',
  rank: 3,
  step: 1048576,
  steps: 1,
  phase: 'decode' as const,
  mapVersion: 12,
  layerVersions: [12, 11],
  ts: '2026-11-18T11:06:40.123Z',
  load: [
    [0, 17, 4],
    [9, 0, 33],
  ],
};

describe('eplb.heat.v2', () => {
  it("reads the Python publisher's bytes as the report it encoded, and writes the same bytes", () => {
    expect(parseHeatReport(GOLDEN)).toEqual({ ok: true, event: { v: 2, ...event } });
    expect(encodeHeatEventV2(event).equals(GOLDEN)).toBe(true);
  });

  it('carries counts beyond u32 as f64, exactly', () => {
    const wide = { ...event, phase: 'prefill' as const, layerVersions: null, load: [[0, 17, 4], [9, 0, 2 ** 40]] };
    expect(parseHeatReport(GOLDEN_WIDE)).toEqual({ ok: true, event: { v: 2, ...wide } });
    expect(encodeHeatEventV2(wide).equals(GOLDEN_WIDE)).toBe(true);
  });

  it('keeps version 1 JSON on the same path', () => {
    const verdict = parseHeatReport(Buffer.from(JSON.stringify({ v: 1, ...event })));
    expect(verdict).toEqual({ ok: true, event: { v: 1, ...event } });
  });

  it('refuses malformed rows naming the field, as version 1 does', () => {
    const at = (mutate: (b: Buffer) => Buffer) => {
      const v = decodeHeatEventV2(mutate(Buffer.from(GOLDEN)));
      return v.ok ? 'accepted' : v.reason;
    };
    expect(at((b) => b.subarray(0, 3))).toMatch(/^\(root\): 3 bytes is too short/);
    expect(at((b) => b.subarray(0, b.length - 1))).toMatch(/^\(root\): \d+ bytes, expected \d+ for 2 layers × 3 slots/);
    expect(at((b) => Buffer.concat([b, Buffer.alloc(4)]))).toMatch(/^\(root\): \d+ bytes, expected/);
    expect(at((b) => ((b[1] = 7), b))).toMatch(/^phase: code 7/);
    expect(at((b) => ((b[2] = 0x80), b))).toMatch(/^\(root\): unknown flags/);
    expect(at((b) => ((b[4] = 'D'.charCodeAt(0)), b))).toMatch(/^deployment: "Dsv3-a" is not a deployment id/);
    // steps (u32 at 14) = 0
    expect(at((b) => (b.writeUInt32LE(0, 14), b))).toMatch(/^steps: 0 is out of range/);
    // mapVersion (u32 at 18) = 0
    expect(at((b) => (b.writeUInt32LE(0, 18), b))).toMatch(/^mapVersion:/);
    // step (f64 at 26) fractional, negative
    expect(at((b) => (b.writeDoubleLE(1.5, 26), b))).toMatch(/^step: 1.5/);
    expect(at((b) => (b.writeDoubleLE(-1, 26), b))).toMatch(/^step: -1/);
    // ts (f64 at 34) not a number
    expect(at((b) => (b.writeDoubleLE(Number.NaN, 34), b))).toMatch(/^ts:/);
    // layer version 1 (u32 at 46) = 0
    expect(at((b) => (b.writeUInt32LE(0, 46), b))).toMatch(/^layerVersions.1:/);
    // L = 0
    expect(at((b) => (b.writeUInt16LE(0, 22), b))).toMatch(/^load: 0 layers/);
  });

  it('refuses f64 counts that are not non-negative integers', () => {
    const b = Buffer.from(GOLDEN_WIDE);
    b.writeDoubleLE(0.5, b.length - 8);
    expect(decodeHeatEventV2(b)).toEqual({ ok: false, reason: 'load.1.2: must be a non-negative integer count' });
  });

  it('is checked against the deployment like version 1', () => {
    const verdict = parseHeatReport(GOLDEN);
    if (!verdict.ok) throw new Error(verdict.reason);
    const view = { numLayers: 2, numRanks: 4, slotsPerRank: 3, latestMapVersion: 12 };
    expect(checkAgainstDeployment(verdict.event, view, Date.parse(event.ts), 30)).toBeNull();
    expect(checkAgainstDeployment(verdict.event, { ...view, numRanks: 2 }, Date.parse(event.ts), 30)).toMatch(/^rank: 3 is not a rank/);
  });
});
