import { readFile, writeFile } from 'node:fs/promises';
import { MAP_FORMATS, convertExpertMap, isMapFormat, mapFormatExtension } from '@eplb/domain';
import type { MapFormat } from '@eplb/domain';
import { ParsedArgs, UsageError, parseArgs, requiredOption, stringOption } from '../args';

/**
 * `eplb map convert --from FORMAT --to FORMAT [--input FILE] [--output FILE] [--ranks R]
 *  [--experts E] [--first-moe-layer N]`: converts an expert map between the formats inference
 * engines read and write (libs/domain/src/formats). Reads stdin and writes stdout by default.
 * Problems surface as one line naming the field (the dispatcher in cli.ts prints them).
 */

export const MAP_USAGE = [
  'usage: eplb map convert --from FORMAT --to FORMAT [--input FILE] [--output FILE]',
  '                        [--ranks R] [--experts E] [--first-moe-layer N]',
  `  FORMAT: ${MAP_FORMATS.join(', ')}`,
  '  --ranks            EP size; needed to read sglang, trtllm, and eplb files without num_ranks',
  '  --experts          logical experts per layer (default: largest id + 1)',
  '  --first-moe-layer  model layer id of the first MoE layer, for sglang and trtllm (default 0;',
  '                     3 for DeepSeek-V3/R1, whose first 3 layers are dense)',
].join('\n');

/** What the command touches outside itself; tests replace it. */
export interface MapIo {
  readonly readInput: (path: string | undefined) => Promise<string>;
  readonly writeOutput: (path: string | undefined, text: string) => Promise<void>;
  readonly stdout: (text: string) => void;
  readonly warn: (line: string) => void;
}

const MODEL_LAYER_FORMATS: readonly MapFormat[] = ['sglang', 'trtllm'];

export async function runMapCommand(argv: string[], io: MapIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === 'help') {
    io.stdout(`${MAP_USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'convert') throw new UsageError(`unknown subcommand "${sub}" (expected: convert)`);
  const args = parseArgs(rest, {
    values: ['from', 'to', 'input', 'output', 'ranks', 'experts', 'first-moe-layer'],
    flags: ['help'],
  });
  if (args.options.has('help')) {
    io.stdout(`${MAP_USAGE}\n`);
    return 0;
  }
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
  const from = formatOption(args, 'from');
  const to = formatOption(args, 'to');
  const ranks = intOption(args, 'ranks', 1);
  const experts = intOption(args, 'experts', 1);
  const firstMoeLayer = intOption(args, 'first-moe-layer', 0);
  if (firstMoeLayer !== undefined && !MODEL_LAYER_FORMATS.includes(from) && !MODEL_LAYER_FORMATS.includes(to)) {
    throw new UsageError(`option --first-moe-layer: applies only to ${MODEL_LAYER_FORMATS.join(' and ')} files`);
  }
  const input = stringOption(args, 'input');
  const output = stringOption(args, 'output');

  const text = await io.readInput(input);
  const converted = convertExpertMap(from, to, text, { ranks, experts, firstMoeLayer });

  // vllm-ascend rejects an expert_map_path not ending in .json; SGLang reads a value not ending
  // in .json (or .pt) as inline JSON, not as a path.
  const ext = mapFormatExtension(to);
  if (output !== undefined && (to === 'vllm-ascend' || to === 'sglang') && !output.endsWith(ext)) {
    io.warn(`eplb map: warning: ${to} expects a ${ext} file name; ${output} will not be read as a map file`);
  }
  await io.writeOutput(output, converted);
  return 0;
}

function formatOption(args: ParsedArgs, name: 'from' | 'to'): MapFormat {
  const value = requiredOption(args, name);
  if (!isMapFormat(value)) {
    throw new UsageError(`option --${name}: unknown map format "${value}" (known: ${MAP_FORMATS.join(', ')})`);
  }
  return value;
}

function intOption(args: ParsedArgs, name: string, min: number): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`option --${name}: must be an integer ≥ ${min}, got "${raw}"`);
  }
  return n;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
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
