import { readFile, writeFile } from 'node:fs/promises';
import { convertMapFile } from '@eplb/contracts';
import { MAP_FORMATS, isMapFormat, mapFormatExtension } from '@eplb/domain';
import type { MapFormat } from '@eplb/domain';
import { CommandLine, requiredOption, UsageError } from '@eplb/cli';
import { CommandGroup, noMoreArguments, runGroup } from '../command-group';
import { readStdin } from '../stdin';

/** What the command touches outside itself; tests replace it. */
export interface MapIo {
  readonly readInput: (path: string | undefined) => Promise<string>;
  readonly writeOutput: (path: string | undefined, text: string) => Promise<void>;
  readonly stdout: (text: string) => void;
  readonly warn: (line: string) => void;
}

const MODEL_LAYER_FORMATS: readonly MapFormat[] = ['sglang', 'trtllm'];

/**
 * `eplb map convert`: an expert map from one engine's format to another's, offline (the formats
 * live in libs/domain/src/formats, their files' JSON and YAML in contracts' map files). Reads stdin and writes stdout by default; problems surface as
 * one line naming the field (the dispatcher in cli.ts prints them).
 */
export const MAP: CommandGroup<MapIo> = {
  name: 'map',
  summary: 'Expert map files, offline: convert between the formats inference engines read and write.',
  verbs: {
    convert: {
      args: '--from FORMAT --to FORMAT [--input FILE] [--output FILE] [--ranks R] [--experts E] [--first-moe-layer N]',
      summary: `convert an expert map file between formats (FORMAT: ${MAP_FORMATS.join(', ')})`,
      options: {
        from: { type: 'string', value: 'FORMAT', help: 'the input file\'s format' },
        to: { type: 'string', value: 'FORMAT', help: 'the output file\'s format' },
        input: { type: 'string', value: 'FILE', help: 'read this instead of stdin' },
        output: { type: 'string', value: 'FILE', help: 'write here instead of stdout' },
        ranks: { type: 'string', value: 'R', help: 'EP size; needed to read sglang, trtllm, and eplb files without num_ranks' },
        experts: { type: 'string', value: 'E', help: 'logical experts per layer (default: largest id + 1)' },
        'first-moe-layer': { type: 'string', value: 'N', help: 'model layer id of the first MoE layer, for sglang and trtllm (default 0; 3 for DeepSeek-V3/R1, whose first 3 layers are dense)' },
      },
      examples: ['eplb map convert --from vllm-ascend --to trtllm --first-moe-layer 3 --input expert_map.json --output moe_load_balancer.yaml'],
      run: convert,
    },
  },
};

export const runMapCommand = (argv: string[], io: MapIo): Promise<number> => runGroup(MAP, argv, io.stdout, () => io);

async function convert(args: CommandLine, io: MapIo): Promise<number> {
  noMoreArguments(args, 0);
  const from = formatOption(args, 'from');
  const to = formatOption(args, 'to');
  const ranks = intOption(args, 'ranks', 1);
  const experts = intOption(args, 'experts', 1);
  const firstMoeLayer = intOption(args, 'first-moe-layer', 0);
  if (firstMoeLayer !== undefined && !MODEL_LAYER_FORMATS.includes(from) && !MODEL_LAYER_FORMATS.includes(to)) {
    throw new UsageError(`option --first-moe-layer: applies only to ${MODEL_LAYER_FORMATS.join(' and ')} files`);
  }
  const input = args.string('input');
  const output = args.string('output');

  const text = await io.readInput(input);
  const converted = convertMapFile(from, to, text, { ranks, experts, firstMoeLayer });

  // vllm-ascend rejects an expert_map_path not ending in .json; SGLang reads a value not ending
  // in .json (or .pt) as inline JSON, not as a path.
  const ext = mapFormatExtension(to);
  if (output !== undefined && (to === 'vllm-ascend' || to === 'sglang') && !output.endsWith(ext)) {
    io.warn(`eplb map: warning: ${to} expects a ${ext} file name; ${output} will not be read as a map file`);
  }
  await io.writeOutput(output, converted);
  return 0;
}

function formatOption(args: CommandLine, name: 'from' | 'to'): MapFormat {
  const value = requiredOption(args, name);
  if (!isMapFormat(value)) {
    throw new UsageError(`option --${name}: unknown map format "${value}" (known: ${MAP_FORMATS.join(', ')})`);
  }
  return value;
}

function intOption(args: CommandLine, name: string, min: number): number | undefined {
  const raw = args.string(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`option --${name}: must be an integer ≥ ${min}, got "${raw}"`);
  }
  return n;
}

const describeIoError = (err: unknown): string =>
  err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);

export const nodeMapIo: MapIo = {
  async readInput(path) {
    if (path === undefined || path === '-') return readStdin();
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`option --input: cannot read ${path} (${describeIoError(err)})`);
    }
  },
  async writeOutput(path, text) {
    if (path === undefined || path === '-') {
      await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
      return;
    }
    try {
      await writeFile(path, text, 'utf8');
    } catch (err) {
      throw new UsageError(`option --output: cannot write ${path} (${describeIoError(err)})`);
    }
  },
  stdout: (text) => process.stdout.write(text),
  warn: (line) => process.stderr.write(`${line}\n`),
};

export const mapCommand = (argv: string[]): Promise<number> => runMapCommand(argv, nodeMapIo);
