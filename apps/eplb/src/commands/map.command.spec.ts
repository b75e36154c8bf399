import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DomainError } from '@eplb/domain';
import { UsageError } from '@eplb/cli';
import { runCommand } from '../cli';
import { MapIo, runMapCommand } from './map.command';

// Same data as vllm-ascend's tests/ut/eplb/core/a2/expert_map.json.
const VLLM_ASCEND_FILE = JSON.stringify({
  moe_layer_count: 1,
  layer_list: [
    {
      layer_id: 0,
      device_count: 2,
      device_list: [
        { device_id: 0, device_expert: [7, 2, 0, 3, 5] },
        { device_id: 1, device_expert: [6, 1, 4, 7, 2] },
      ],
    },
  ],
});

function fakeIo(input: string) {
  const written: { path: string | undefined; text: string }[] = [];
  const warnings: string[] = [];
  const printed: string[] = [];
  const io: MapIo = {
    readInput: async () => input,
    writeOutput: async (path, text) => {
      written.push({ path, text });
    },
    stdout: (text) => printed.push(text),
    warn: (line) => warnings.push(line),
  };
  return { io, written, warnings, printed };
}

describe('eplb map convert (command logic)', () => {
  it('converts vllm-ascend to trtllm YAML keyed from --first-moe-layer', async () => {
    const { io, written } = fakeIo(VLLM_ASCEND_FILE);
    const code = await runMapCommand(['convert', '--from', 'vllm-ascend', '--to', 'trtllm', '--first-moe-layer', '3'], io);
    expect(code).toBe(0);
    expect(written).toEqual([
      { path: undefined, text: 'num_slots: 10\ninitial_global_assignments:\n  3: [7, 2, 0, 3, 5, 6, 1, 4, 7, 2]\n' },
    ]);
  });

  it('converts trtllm back to vllm-ascend with --ranks', async () => {
    const { io, written } = fakeIo('initial_global_assignments:\n  3: [7, 2, 0, 3, 5, 6, 1, 4, 7, 2]\nnum_slots: 10\n');
    await runMapCommand(['convert', '--from=trtllm', '--to=vllm-ascend', '--ranks=2', '--first-moe-layer=3', '--output', 'm.json'], io);
    expect(written[0].path).toBe('m.json');
    expect(JSON.parse(written[0].text)).toEqual(JSON.parse(VLLM_ASCEND_FILE));
  });

  it('passes --experts to the import', async () => {
    const { io } = fakeIo(VLLM_ASCEND_FILE);
    await expect(runMapCommand(['convert', '--from', 'vllm-ascend', '--to', 'eplb', '--experts', '9'], io)).rejects.toThrow(
      'layer_list[0]: logical expert 8 has no replica (1 experts missing)',
    );
  });

  it('warns when an sglang or vllm-ascend output name does not end in .json', async () => {
    const { io, warnings } = fakeIo(VLLM_ASCEND_FILE);
    await runMapCommand(['convert', '--from', 'vllm-ascend', '--to', 'sglang', '--output', 'map.txt'], io);
    expect(warnings).toEqual(['eplb map: warning: sglang expects a .json file name; map.txt will not be read as a map file']);
  });

  it('rejects bad usage with one message naming the option', async () => {
    const cases: [string[], string][] = [
      [['convert', '--to', 'eplb'], 'missing required option --from'],
      [['convert', '--from', 'vllm', '--to', 'eplb'], 'option --from: unknown map format "vllm" (known: vllm-ascend, sglang, trtllm, eplb)'],
      [['convert', '--from', 'eplb', '--to', 'sglang', '--ranks', '0'], 'option --ranks: must be an integer ≥ 1, got "0"'],
      [['convert', '--from', 'eplb', '--to', 'sglang', '--experts', '2.5'], 'option --experts: must be an integer ≥ 1, got "2.5"'],
      [['convert', '--from', 'eplb', '--to', 'vllm-ascend', '--first-moe-layer', '3'], 'option --first-moe-layer: applies only to sglang and trtllm files'],
      [['convert', '--from', 'eplb', '--to', 'sglang', 'extra'], 'unexpected argument "extra"'],
      [['convert', '--from', 'eplb', '--to', 'sglang', '--format', 'x'], 'unknown option --format'],
      [['export'], 'unknown subcommand "export" (expected: convert)'],
    ];
    for (const [argv, message] of cases) {
      const { io } = fakeIo('{}');
      const err = await runMapCommand(argv, io).catch((e: unknown) => e);
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(message);
    }
  });

  it('lets format errors through as DomainErrors naming the field', async () => {
    const { io } = fakeIo('{"physical_to_logical_map": [[0, 1, 2]]}');
    const err = await runMapCommand(['convert', '--from', 'sglang', '--to', 'eplb'], io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).field).toBe('--ranks');
  });

  it('prints usage for help', async () => {
    const { io, printed } = fakeIo('');
    expect(await runMapCommand(['convert', '--help'], io)).toBe(0);
    expect(printed.join('')).toMatch(/^usage: eplb map convert --from FORMAT --to FORMAT/);
    expect(printed.join('')).toMatch(/\n {6}--first-moe-layer N {2}model layer id/);
    expect(await runMapCommand(['--help'], io)).toBe(0);
    expect(printed.join('')).toMatch(/verbs:\n {2}convert {2}convert an expert map file between formats/);
    await expect(runMapCommand([], io)).rejects.toThrow(new UsageError('missing verb (convert); see eplb map --help'));
  });
});

describe('eplb map convert (through the CLI dispatcher, real files)', () => {
  let dir: string;
  let stderr: string[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eplb-map-'));
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads --input and writes --output', async () => {
    const input = join(dir, 'expert_map.json');
    const output = join(dir, 'map.json');
    await writeFile(input, VLLM_ASCEND_FILE);
    const code = await runCommand(['map', 'convert', '--from', 'vllm-ascend', '--to', 'sglang', '--input', input, '--output', output]);
    expect(code).toBe(0);
    expect(await readFile(output, 'utf8')).toBe('{\n  "physical_to_logical_map": [\n    [7, 2, 0, 3, 5, 6, 1, 4, 7, 2]\n  ]\n}\n');
    expect(stderr).toEqual([]);
  });

  it('fails with exit code 1 and one stderr line naming the field', async () => {
    const input = join(dir, 'ragged.json');
    const doc = JSON.parse(VLLM_ASCEND_FILE);
    doc.layer_list[0].device_list[1].device_expert = [6, 1, 4, 7];
    await writeFile(input, JSON.stringify(doc));
    const code = await runCommand(['map', 'convert', '--from', 'vllm-ascend', '--to', 'eplb', '--input', input]);
    expect(code).toBe(1);
    expect(stderr).toEqual([
      'eplb map: layer_list[0].device_list[1].device_expert: has 4 slots, but layer_list[0].device_list[0] has 5: every device needs the same number of slots\n',
    ]);
  });

  it('fails with exit code 2 for an unreadable input file', async () => {
    const code = await runCommand(['map', 'convert', '--from', 'eplb', '--to', 'sglang', '--input', join(dir, 'missing.json')]);
    expect(code).toBe(2);
    expect(stderr).toEqual([`eplb map: option --input: cannot read ${join(dir, 'missing.json')} (ENOENT)\n`]);
  });
});
