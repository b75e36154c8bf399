import { describe, expect, it } from 'vitest';
import { DomainError, ExpertMap, MAP_FORMATS } from '@eplb/domain';
import { convertMapFile, formatMapFile, parseMapFile } from './map-file';
import { readYamlDocument, writeYamlDocument } from './yaml-document';

const rows = [
  [5, 1, 0, 2, 4, 3, 5, 0],
  [2, 4, 3, 1, 0, 5, 2, 1],
  [0, 1, 2, 3, 4, 5, 0, 1],
];

// As TensorRT-LLM's examples/wide_ep/ep_load_balancer/generate_eplb_config.py writes it
// (yaml.dump: sorted keys, flow lists, layer_updates_per_iter), keys = model layer ids after 3 dense layers.
const GENERATED = `initial_global_assignments:
  3: [5, 1, 0, 2, 4, 3, 5, 0]
  4: [2, 4, 3, 1, 0, 5, 2, 1]
  5: [0, 1, 2, 3, 4, 5, 0, 1]
layer_updates_per_iter: 0
num_slots: 8
`;

// The same data as PyYAML's default block style writes it (a hand-made file).
const BLOCK_STYLE = `# static EPLB, 2 ranks x 4 slots
num_slots: 8
initial_global_assignments:
  3:
  - 5
  - 1
  - 0
  - 2
  - 4
  - 3
  - 5
  - 0
  4: [2, 4, 3, 1, 0, 5, 2, 1]
  5:
    - 0
    - 1
    - 2
    - 3
    - 4
    - 5
    - 0
    - 1
`;

/** A DomainError naming the `input` field, as the API's problem+json and the CLI show it. */
function inputProblem(message: RegExp): Error {
  return expect.objectContaining({ constructor: DomainError, field: 'input', message: expect.stringMatching(message) });
}

describe('trtllm files (YAML)', () => {
  it('reads flow and block lists and comments alike', () => {
    expect(parseMapFile('trtllm', GENERATED, { ranks: 2, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 2 });
    expect(parseMapFile('trtllm', BLOCK_STYLE, { ranks: 4, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 4 });
  });

  it('writes num_slots and one flow list per layer with integer layer keys, as TensorRT-LLM\'s generator does', () => {
    expect(formatMapFile('trtllm', { physicalToLogical: rows, numRanks: 2 }, { firstMoeLayer: 3 })).toBe(
      'num_slots: 8\ninitial_global_assignments:\n  3: [5, 1, 0, 2, 4, 3, 5, 0]\n  4: [2, 4, 3, 1, 0, 5, 2, 1]\n  5: [0, 1, 2, 3, 4, 5, 0, 1]\n',
    );
  });

  it('keeps a DeepSeek-sized layer (320 slots) on one line', () => {
    const row = Array.from({ length: 320 }, (_, p) => p % 256);
    const text = formatMapFile('trtllm', { physicalToLogical: [row, row], numRanks: 64 });
    expect(text.split('\n')).toHaveLength(5);
    expect(parseMapFile('trtllm', text, { ranks: 64 }).physicalToLogical).toEqual([row, row]);
  });

  it('reports YAML syntax errors as input errors saying where', () => {
    const cases: [string, RegExp][] = [
      ['a: 1\na: 2\n', /^input: is not valid YAML \(Map keys must be unique at line 2, column 1:\)$/],
      ['a: 1\n---\nb: 2\n', /^input: is not valid YAML \(Source contains multiple documents.* at line 2/],
      ['initial_global_assignments:\n  1: [0, 1\n', /^input: is not valid YAML \(.* at line \d+/],
      ['a: 1\n\tb: 2\n', /^input: is not valid YAML/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseMapFile('trtllm', text, { ranks: 1 }), text).toThrow(inputProblem(message));
    }
    expect(() => parseMapFile('trtllm', '\n# nothing\n', { ranks: 1 })).toThrow(inputProblem(/./));
  });

  it('round-trips documents through YAML text', () => {
    const doc = { num_slots: 4, initial_global_assignments: { 10: [0, 1, 2, 3], 11: [3, 2, 1, 0] }, note: 'a: b' };
    expect(readYamlDocument(writeYamlDocument(doc))).toEqual(doc);
  });
});

describe('map files: every format through its text', () => {
  const maps: ExpertMap[] = [
    { physicalToLogical: rows, numRanks: 2 },
    { physicalToLogical: [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]], numRanks: 4 },
  ];

  it.each(MAP_FORMATS.flatMap((a) => MAP_FORMATS.map((b) => [a, b] as const)))('%s → %s → canonical gives back the map', (from, to) => {
    for (const map of maps) {
      for (const firstMoeLayer of [0, 3]) {
        const opts = { ranks: map.numRanks, firstMoeLayer };
        const converted = convertMapFile(from, to, formatMapFile(from, map, opts), opts);
        expect(parseMapFile(to, converted, opts)).toEqual(map);
      }
    }
  });

  it('converts vllm-ascend JSON to trtllm YAML', () => {
    const vllm = JSON.stringify({ moe_layer_count: 1, layer_list: [{ layer_id: 0, device_count: 2, device_list: [{ device_id: 0, device_expert: [7, 2, 0, 3, 5] }, { device_id: 1, device_expert: [6, 1, 4, 7, 2] }] }] });
    expect(convertMapFile('vllm-ascend', 'trtllm', vllm, { firstMoeLayer: 3 })).toBe('num_slots: 10\ninitial_global_assignments:\n  3: [7, 2, 0, 3, 5, 6, 1, 4, 7, 2]\n');
  });

  it('names --from / --to for unknown formats, and input for bad JSON', () => {
    expect(() => parseMapFile('vllm', '{}')).toThrow(/^from: unknown map format "vllm" \(known: vllm-ascend, sglang, trtllm, eplb\)$/);
    expect(() => convertMapFile('eplb', 'yaml', '{')).toThrow(/^to: unknown map format "yaml"/);
    expect(() => parseMapFile('eplb', '{"num_ranks": 2,')).toThrow(inputProblem(/^input: is not valid JSON/));
  });
});
