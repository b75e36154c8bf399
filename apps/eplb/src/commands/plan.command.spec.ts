import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assertPhysicalToLogical, heatFileToInput, importEplbPlan, planFileDocument, getPolicy, rankLoads } from '@eplb/domain';
import { parseExcludeRanks, planCommand, planMain } from './plan.command';

const TOY = { num_ranks: 8, num_nodes: 1, slots_per_rank: 2, heat: [[[600, 560, 120, 120, 20, 10, 10, 10]]] };
// the toy's skew counted over a thousand times the tokens: against a map in service, the gain default
// can buy within its transfer budget (a third of a greedy re-plan's) is then beyond the counting
// noise, which on the toy's 1450 picks it is not — and, the deployment's only layer, beyond what a
// layer that fits its map shows when its routing wanders as much as the one-window rule allows
// (oneWindowInflation: z 11.6 here; a hundred times the tokens gives 3.7, which one layer cannot
// tell from such wandering)
const BUSY = { ...TOY, heat: [[TOY.heat[0][0].map((x) => 1000 * x)]] };

let dir: string;
let stderr: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eplb-plan-'));
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const write = (name: string, doc: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return p;
};

describe('eplb plan', () => {
  it('writes a valid plan with the report and stays silent', async () => {
    const input = write('heat.json', TOY);
    const output = join(dir, 'plan.json');
    expect(await planCommand(['--input', input, '--output', output, '--policy', 'flash'])).toBe(0);
    expect(stderr).toEqual([]);
    const plan = JSON.parse(readFileSync(output, 'utf8'));
    assertPhysicalToLogical(plan.physical_to_logical, 1, 8, 16);
    expect(plan.policy).toBe('flash');
    expect(plan.layers).toHaveLength(1);
    expect(Math.max(...rankLoads(plan.physical_to_logical[0], TOY.heat[0][0], 8, 2))).toBeLessThanOrEqual(590 / 3 + 1e-6);
    expect(plan.layers[0].imbalance_after).toBeCloseTo((590 / 3) / (1450 / 8), 9);
    // the plan file is an eplb map file the formats module reads back
    expect(importEplbPlan(plan, { ranks: 8 }).physicalToLogical).toEqual(plan.physical_to_logical);
  });

  it('reports per-layer figures on stderr with --verbose, with transfers against current', async () => {
    const current = [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 1, 0, 1, 0, 1]];
    const input = write('heat.json', { ...BUSY, current });
    const output = join(dir, 'plan.json');
    expect(await planCommand(['--input', input, '--output', output, '--verbose', '--expert-bytes', '1000'])).toBe(0);
    const text = stderr.join('');
    expect(text).toMatch(/^policy default: 1 layers in/);
    const plan = JSON.parse(readFileSync(output, 'utf8'));
    expect(text).toContain(`total transfers ${plan.layers[0].transfers}, ${plan.layers[0].transfers * 1000} bytes`);
    expect(plan.layers[0].imbalance_before).toBeGreaterThan(plan.layers[0].imbalance_after);
  });

  it.each([
    ['heat[0][0]: has 7 experts, expected 8', { ...TOY, heat: [[[1, 2, 3, 4, 5, 6, 7, 8]], [[1, 2, 3, 4, 5, 6, 7]]] }, 'heat[1][0]: has 7 experts, expected 8'],
    ['a negative count', { ...TOY, heat: [[[1, 2, 3, -4, 5, 6, 7, 8]]] }, 'heat[0][0][3]: must be a finite number ≥ 0, got -4'],
    ['a missing field', { num_ranks: 8, slots_per_rank: 2, heat: TOY.heat }, 'num_nodes: is missing'],
    ['too few slots', { ...TOY, slots_per_rank: 0 }, 'slots_per_rank: must be a positive integer, got 0'],
    ['nodes not dividing ranks', { ...TOY, num_nodes: 3 }, 'num_nodes: 3 nodes do not divide 8 ranks'],
    ['a current map missing an expert', { ...TOY, current: [Array(16).fill(0)] }, 'current[0]: logical expert 1 has no replica (7 experts missing)'],
    ['a layer count mismatch', { ...TOY, heat: [[[1, 1, 1, 1, 1, 1, 1, 1]], [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]] }, 'heat[1]: has 2 layers, expected 1'],
    ['not JSON', '{"num_ranks": 8,', 'not valid JSON'],
  ])('fails with one line naming the field on %s', async (_, doc, message) => {
    const input = write('bad.json', doc);
    const code = await planCommand(['--input', input, '--output', join(dir, 'out.json')]);
    expect(code).toBe(1);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^eplb plan: .*\n$/);
    expect(stderr[0]).toContain(message);
  });

  it('prints its options and an example with --help', async () => {
    const printed: string[] = [];
    const io = { readBytes: async () => new Uint8Array(0), writeText: async () => undefined, stdout: (t: string) => printed.push(t), stderr: (t: string) => printed.push(t) };
    expect(await planMain(['--help'], io)).toBe(0);
    expect(printed.join('')).toMatch(/^usage: eplb plan --input HEAT\.json --output PLAN\.json[\s\S]*--policy NAME[\s\S]*example:\n {2}eplb plan /);
    expect(await planMain(['--inptu', 'x'], io)).toBe(2);
    expect(printed.at(-1)).toBe('eplb plan: unknown option --inptu\n');
  });

  it('fails with usage errors (exit 2) on unknown policies and missing options', async () => {
    const input = write('heat.json', TOY);
    expect(await planCommand(['--input', input, '--output', join(dir, 'o.json'), '--policy', 'magic'])).toBe(2);
    expect(stderr[0]).toMatch(/^eplb plan: option --policy: unknown policy "magic"/);
    expect(await planCommand(['--input', input])).toBe(2);
    expect(stderr[1]).toBe('eplb plan: missing required option --output\n');
  });
});

describe('eplb plan on a file beyond ASCII', () => {
  it('plans a UTF-8 file with a byte-order mark and a name beyond ASCII as the same file in ASCII', async () => {
    const ascii = write('ascii.json', { deployment: 'dsv3-e', ...BUSY });
    const named = join(dir, 'named.json');
    writeFileSync(named, Buffer.from(`\ufeff${JSON.stringify({ deployment: 'dsv3-é', ...BUSY })}`, 'utf8'));
    expect(await planCommand(['--input', ascii, '--output', join(dir, 'a.json')])).toBe(0);
    expect(await planCommand(['--input', named, '--output', join(dir, 'n.json')])).toBe(0);
    expect(readFileSync(join(dir, 'n.json'), 'utf8')).toBe(readFileSync(join(dir, 'a.json'), 'utf8'));
  });
});

describe('eplb plan --exclude-ranks and how sure', () => {
  it('parses 3,17 and names a bad entry', () => {
    expect(parseExcludeRanks(undefined)).toEqual([]);
    expect(parseExcludeRanks('3,17')).toEqual([3, 17]);
    expect(parseExcludeRanks(' 3, 17 ')).toEqual([3, 17]);
    expect(() => parseExcludeRanks('3,x')).toThrow('option --exclude-ranks: "x" is not a rank number');
    expect(() => parseExcludeRanks('-1')).toThrow(/not a rank number/);
  });

  it('plans around the lost ranks: every expert on a live rank, the lost ranks as in current', async () => {
    const current = [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 1, 0, 1, 0, 1]];
    const input = write('heat.json', { ...TOY, current });
    const output = join(dir, 'plan.json');
    expect(await planCommand(['--input', input, '--output', output, '--exclude-ranks', '1,2'])).toBe(0);
    const row: number[] = JSON.parse(readFileSync(output, 'utf8')).physical_to_logical[0];
    expect(new Set(row.filter((_, p) => p >= 6 || p < 2)).size).toBe(8);
    expect(row.slice(2, 6)).toEqual(current[0].slice(2, 6));
    expect(await planCommand(['--input', input, '--output', output, '--exclude-ranks', '8'])).toBe(1);
    expect(stderr.join('')).toContain('excludeRanks: rank 8 is not a rank of 0..7');
  });

  it('says how sure it is that the map in service is stale, in the plan file and with --verbose', async () => {
    const current = [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 1, 0, 1, 0, 1]];
    const input = write('heat.json', { ...BUSY, current });
    const output = join(dir, 'plan.json');
    expect(await planCommand(['--input', input, '--output', output, '--verbose'])).toBe(0);
    const layer = JSON.parse(readFileSync(output, 'utf8')).layers[0];
    expect(layer.certainty).toMatchObject({ stale: true, basis: 'one-window' });
    expect(layer.certainty.gain).toBeGreaterThan(0);
    expect(stderr.join('')).toMatch(/stale layers 1 of 1, gain\/se from [\d.]+ to [\d.]+ \(one window/);
  });
});

describe('heat and plan files round trip', () => {
  it('a heat file parsed, planned, written and read again gives the same map and input', () => {
    const doc = { ...TOY, num_groups: 2, current: [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 1, 0, 1, 0, 1]] };
    const input = heatFileToInput(JSON.parse(JSON.stringify(doc)));
    expect(input.shape).toEqual({ numLayers: 1, numExperts: 8, numRanks: 8, numNodes: 1, slotsPerRank: 2, numGroups: 2 });
    expect(Array.from(input.heat[0][0])).toEqual(TOY.heat[0][0]);
    const result = getPolicy('greedy')(input);
    const text = JSON.stringify(planFileDocument(result));
    const back = JSON.parse(text);
    expect(back.physical_to_logical).toEqual(result.physicalToLogical);
    expect(back.layers[0].transfers).toBe(result.layers[0].transfers);
    expect(heatFileToInput({ ...doc, current: back.physical_to_logical }).current).toEqual(result.physicalToLogical);
  });
});
