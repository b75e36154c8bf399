import { readFile, writeFile } from 'node:fs/promises';
import { LayerReport, PolicyInput, getPolicy, heatFileFromBytes, heatFileToInput, planFileDocument, policyNames } from '@eplb/domain';
import { formatHelp, parseCommandLine, requiredOption, UsageError } from '@eplb/cli';

/**
 * `eplb plan`: runs a placement policy on an offline heat file and writes the plan file (an
 * `eplb` map file). Silent on success; --verbose prints per-layer figures on stderr.
 */
export const PLAN_OPTIONS = {
  input: { type: 'string', value: 'HEAT.json', help: 'the heat file (what GET .../heat/export/heat-file answers)' },
  output: { type: 'string', value: 'PLAN.json', help: 'where the plan file goes' },
  policy: { type: 'string', value: 'NAME', help: `${policyNames().join(', ')} (default: default)` },
  'expert-bytes': { type: 'string', value: 'N', help: "bytes of one expert's weights, to report bytes moved (default 0)" },
  'exclude-ranks': { type: 'string', value: 'R,R,...', help: 'lost ranks to plan around: every expert keeps a replica on a live rank; the excluded ranks keep what they hold in `current`' },
  verbose: { type: 'boolean', help: 'per-layer figures and how sure the plan is, on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const PLAN_USAGE = formatHelp({
  usage: ['eplb plan --input HEAT.json --output PLAN.json [--policy NAME] [--verbose] [--expert-bytes N] [--exclude-ranks R,R,...]'],
  summary: 'Plans an expert map offline: a placement policy on a heat file, written as a plan file.',
  options: PLAN_OPTIONS,
  examples: ['eplb plan --input heat.json --output plan.json --policy flash --verbose'],
});

/** The ranks of `--exclude-ranks 3,17` (none when the option is absent); a usage error names a bad entry. */
export function parseExcludeRanks(text: string | undefined): number[] {
  if (text === undefined) return [];
  return text.split(',').map((part) => {
    const t = part.trim();
    if (!/^\d+$/.test(t)) throw new UsageError(`option --exclude-ranks: "${t}" is not a rank number (expected e.g. 3,17)`);
    return Number(t);
  });
}

export interface PlanIo {
  readonly readBytes: (path: string) => Promise<Uint8Array>;
  readonly writeText: (path: string, text: string) => Promise<void>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const nodeIo: PlanIo = {
  readBytes: (p) => readFile(p),
  writeText: (p, t) => writeFile(p, t),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export async function runPlanCommand(argv: string[], io: PlanIo): Promise<number> {
  const args = parseCommandLine(argv, PLAN_OPTIONS);
  if (args.flag('help')) {
    io.stdout(PLAN_USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const input = requiredOption(args, 'input');
  const output = requiredOption(args, 'output');
  const policyName = args.string('policy') ?? 'default';
  if (!policyNames().includes(policyName)) {
    throw new UsageError(`option --policy: unknown policy "${policyName}" (known: ${policyNames().join(', ')})`);
  }
  const bytesText = args.string('expert-bytes');
  const expertBytes = bytesText === undefined ? 0 : Number(bytesText);
  if (!Number.isSafeInteger(expertBytes) || expertBytes < 0) {
    throw new UsageError(`option --expert-bytes: must be a non-negative integer, got "${bytesText}"`);
  }
  const verbose = args.flag('verbose');
  const excludeRanks = parseExcludeRanks(args.string('exclude-ranks'));

  const base = await readHeatFile(io, input);
  const started = process.hrtime.bigint();
  const result = getPolicy(policyName)(excludeRanks.length ? { ...base, options: { excludeRanks } } : base);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // bytes moved: each transfer brings one expert's weights over a link (local copies cross none),
  // so the layer reports' transfer counts say it without building the rollout's transfer plan
  const bytes = base.current ? result.layers.map((r) => r.transfers * expertBytes) : undefined;
  const out = planFileDocument(result);
  if (bytes) {
    out.layers = (out.layers as Record<string, unknown>[]).map((row, l) => ({ ...row, bytes: bytes[l] }));
  }
  await io.writeText(output, `${JSON.stringify(out)}\n`);
  if (verbose) {
    const f = (v: number | null): string => (v === null ? '-' : v.toFixed(4));
    io.stderr(`policy ${policyName}: ${base.shape.numLayers} layers in ${ms.toFixed(1)} ms\n`);
    io.stderr('layer  imb_before  imb_after  ep_before  ep_after  transfers  redeployed\n');
    result.layers.forEach((r, l) => {
      io.stderr(
        `${String(l).padStart(5)}  ${f(r.imbalanceBefore).padStart(10)}  ${f(r.imbalanceAfter).padStart(9)}  ` +
          `${f(r.episodeBefore).padStart(9)}  ${f(r.episodeAfter).padStart(8)}  ${String(r.transfers).padStart(9)}  ${r.redeployed ? 'yes' : 'no'}\n`,
      );
    });
    const t = result.layers.reduce((s, r) => s + r.transfers, 0);
    io.stderr(`total transfers ${t}${bytes ? `, ${t * expertBytes} bytes` : ''}\n`);
    const sure = howSure(result.layers);
    if (sure) io.stderr(`${sure}\n`);
  }
  return 0;
}

/**
 * The heat file as the policy's input: read straight from its bytes when it is in the plain form
 * (heatFileFromBytes), else decoded, parsed as JSON and checked by heatFileToInput, which names
 * what is wrong. A helper of its own so that the bytes do not stay reachable from the command's
 * frame while the policy runs: on a big file they are megabytes.
 */
async function readHeatFile(io: PlanIo, path: string): Promise<Omit<PolicyInput, 'options'>> {
  const bytes = await io.readBytes(path);
  const plain = heatFileFromBytes(bytes);
  if (plain) return plain;
  // UTF-8, a leading byte-order mark dropped (TextDecoder's default)
  const text = new TextDecoder('utf-8').decode(bytes);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return heatFileToInput(doc);
}

/** One line on how sure the plan is that the map in service is stale (policies that tell), or null. */
export function howSure(layers: readonly LayerReport[]): string | null {
  const told = layers.filter((r) => r.certainty);
  if (told.length === 0) return null;
  const stale = told.filter((r) => r.certainty!.stale);
  const z = stale.map((r) => (r.certainty!.se > 0 ? r.certainty!.gain / r.certainty!.se : Infinity)).sort((a, b) => a - b);
  const basis = told[0].certainty!.basis === 'held-out' ? 'gain on held-out episodes' : 'one window: gain against its counting noise only, nothing said of change over time';
  return (
    `stale layers ${stale.length} of ${told.length}` +
    (stale.length ? `, gain/se from ${z[0].toFixed(1)} to ${z[z.length - 1].toFixed(1)}` : '') +
    ` (${basis})`
  );
}

/**
 * Runs the verb and turns any failure into one line on stderr (`eplb plan: heat[2][5]: has 7
 * experts, expected 8`) and the exit code: 2 for usage errors, 1 for bad input.
 */
export async function planMain(argv: string[], io: PlanIo): Promise<number> {
  try {
    return await runPlanCommand(argv, io);
  } catch (err) {
    io.stderr(`eplb plan: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

export const planCommand = (argv: string[]): Promise<number> => planMain(argv, nodeIo);
