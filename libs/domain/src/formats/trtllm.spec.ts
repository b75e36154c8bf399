import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { exportTrtllm, importTrtllm, parseTrtllm } from './trtllm';
import { emitYamlSubset, parseYamlSubset } from './yaml';

function fieldOf(fn: () => unknown): { field?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('expected a DomainError');
}

// Shaped like the file TensorRT-LLM's examples/wide_ep/ep_load_balancer/generate_eplb_config.py
// writes (yaml.dump: sorted keys, flow lists, layer_updates_per_iter), keys = model layer ids
// starting after 3 dense layers as in its README; small numbers here.
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

const rows = [
  [5, 1, 0, 2, 4, 3, 5, 0],
  [2, 4, 3, 1, 0, 5, 2, 1],
  [0, 1, 2, 3, 4, 5, 0, 1],
];

describe('trtllm import', () => {
  it('reads a generate_eplb_config.py-style file with --first-moe-layer', () => {
    expect(parseTrtllm(GENERATED, { ranks: 2, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 2 });
  });

  it('reads block-style lists and comments the same way', () => {
    expect(parseTrtllm(BLOCK_STYLE, { ranks: 4, firstMoeLayer: 3 })).toEqual({ physicalToLogical: rows, numRanks: 4 });
  });

  it('tells the user which --first-moe-layer the keys imply', () => {
    expect(fieldOf(() => parseTrtllm(GENERATED, { ranks: 2 }))).toEqual({
      field: 'initial_global_assignments',
      message:
        'initial_global_assignments: first layer key is 3 but --first-moe-layer is 0; keys are model layer ids, pass --first-moe-layer 3 if the first 3 layers are dense',
    });
  });

  it('rejects gaps in the layer keys', () => {
    const doc = { num_slots: 2, initial_global_assignments: { 0: [0, 1], 2: [1, 0] } };
    expect(fieldOf(() => importTrtllm(doc, { ranks: 1 })).message).toBe(
      'initial_global_assignments: layer keys must be consecutive from 0: 1 is missing',
    );
  });

  it('needs --ranks that divides num_slots', () => {
    expect(fieldOf(() => parseTrtllm(GENERATED, { firstMoeLayer: 3 })).field).toBe('--ranks');
    expect(fieldOf(() => parseTrtllm(GENERATED, { ranks: 3, firstMoeLayer: 3 })).message).toBe(
      '--ranks: 3 ranks do not divide the 8 slots of a layer',
    );
  });

  it('checks each list against num_slots and the replica rule, naming the layer key', () => {
    const short = GENERATED.replace('4: [2, 4, 3, 1, 0, 5, 2, 1]', '4: [2, 4, 3, 1, 0, 5, 2]');
    expect(fieldOf(() => parseTrtllm(short, { ranks: 2, firstMoeLayer: 3 }))).toEqual({
      field: 'initial_global_assignments[4]',
      message: 'initial_global_assignments[4]: has 7 slots, but num_slots is 8',
    });
    const missing = GENERATED.replace('5: [0, 1, 2, 3, 4, 5, 0, 1]', '5: [0, 1, 2, 3, 4, 4, 0, 1]');
    expect(fieldOf(() => parseTrtllm(missing, { ranks: 2, firstMoeLayer: 3 }))).toEqual({
      field: 'initial_global_assignments[5]',
      message: 'initial_global_assignments[5]: logical expert 5 has no replica (1 experts missing)',
    });
    expect(fieldOf(() => parseTrtllm(GENERATED, { ranks: 2, firstMoeLayer: 3, experts: 5 })).field).toBe(
      'initial_global_assignments[3][0]',
    );
  });

  it('rejects keys MoeLoadBalancerConfig does not have, and files without a map', () => {
    expect(fieldOf(() => parseTrtllm(`moe_config:\n  1: [0]\n`, { ranks: 1 })).message).toMatch(
      /^moe_config: unexpected key: .* \(give the load balancer file itself, not the LLM API options file\)$/,
    );
    expect(fieldOf(() => parseTrtllm('num_slots: 288\nlayer_updates_per_iter: 2\n', { ranks: 36 }))).toEqual({
      field: 'initial_global_assignments',
      message:
        "initial_global_assignments: is missing: this file has no map (TensorRT-LLM would start from its default placement)",
    });
    expect(fieldOf(() => parseTrtllm('initial_global_assignments:\n  0: [0]\n', { ranks: 1 })).field).toBe('num_slots');
  });
});

describe('trtllm export', () => {
  it('writes num_slots and one flow list per layer, keyed from --first-moe-layer', () => {
    const text = exportTrtllm({ physicalToLogical: rows, numRanks: 2 }, { firstMoeLayer: 3 });
    expect(text).toBe(
      'num_slots: 8\ninitial_global_assignments:\n  3: [5, 1, 0, 2, 4, 3, 5, 0]\n  4: [2, 4, 3, 1, 0, 5, 2, 1]\n  5: [0, 1, 2, 3, 4, 5, 0, 1]\n',
    );
    expect(parseYamlSubset(text)).toEqual({
      num_slots: 8,
      initial_global_assignments: { 3: rows[0], 4: rows[1], 5: rows[2] },
    });
  });
});

describe('YAML subset', () => {
  it('parses scalars, null, flow and block lists, and ignores comments', () => {
    expect(parseYamlSubset('---\na: 1 # one\nb: ~\nc: [1, -2]\nd:\n  7: []\n')).toEqual({
      a: 1,
      b: null,
      c: [1, -2],
      d: { 7: [] },
    });
  });

  it('round-trips what it emits', () => {
    const doc = { num_slots: 4, initial_global_assignments: { 10: [0, 1, 2, 3], 11: [3, 2, 1, 0] } };
    expect(parseYamlSubset(emitYamlSubset(doc))).toEqual(doc);
  });

  it('rejects what it does not support, with the line number', () => {
    const cases: [string, string][] = [
      ['a: 1\n\tb: 2\n', 'line 2: tabs are not allowed for indentation in YAML'],
      ['a: "x"\n', 'line 1: the value of a must be an integer, got "\\"x\\""'],
      ['a: {1: [0]}\n', 'line 1: flow mappings ({...}) are not supported; write one "layer: [ids]" per line under a:'],
      ['a:\n  x: [0]\n', 'line 2: a key of a must be an integer, got "x"'],
      ['a:\n  1: [0, 1\n', 'line 2: the value of a[1] must be a list of integers like [0, 1, 2] on one line, got "[0, 1"'],
      ['a:\n  1: [0, b]\n', 'line 2: each item of a[1] must be an integer, got "b"'],
      ['a:\n  1: [0]\n   2: [1]\n', 'line 3: inconsistent indentation (expected 2 spaces)'],
      ['a:\n  1: [0]\n  1: [1]\n', 'line 3: duplicate key 1 in a'],
      ['a: 1\na: 2\n', 'line 2: duplicate key a'],
      ['a:\n  - 1\n', 'line 2: a must be a mapping of layer ids to lists, not a list'],
      ['a:\n  1:\n  2: [0]\n', 'line 2: a[1] has no value (expected a list of expert ids)'],
      ['a: 1\n---\nb: 2\n', 'line 2: only one YAML document is supported'],
      ['just text\n', 'line 1: expected "key: value", got "just text"'],
      ['  a: 1\n', 'line 1: the document must start with a key at column 1'],
      ['\n# nothing\n', 'input: is empty'],
    ];
    for (const [source, message] of cases) {
      expect(() => parseYamlSubset(source), source).toThrow(message);
    }
  });
});
