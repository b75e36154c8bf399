import { readFile, writeFile } from 'node:fs/promises';
import type { ApiClient } from '@eplb/api-client';
import { CommandLine, requiredOption, UsageError } from '@eplb/cli';
import type { MapVersionResponse } from '@eplb/contracts';
import { MAP_FORMATS, MapFormat, isMapFormat } from '@eplb/domain';
import { ApiContext, runApiGroup } from '../api-context';
import { CommandGroup, noMoreArguments, positional } from '../command-group';
import { defaultApiClient } from '../default-api-client';
import { bytes, OUTPUT_OPTIONS, table, when } from '../output';
import { readStdin } from '../stdin';

function intOption(line: CommandLine, name: string, min: 0 | 1): number | undefined {
  const v = line.string(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a ${min === 0 ? 'non-negative' : 'positive'} integer, got "${v}"`);
  return Number(v);
}

function versionArgument(line: CommandLine): number {
  const v = positional(line, 1, 'VERSION');
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`VERSION must be a positive integer, got "${v}"`);
  return Number(v);
}

function formatOption(line: CommandLine): MapFormat {
  const f = requiredOption(line, 'format');
  if (!isMapFormat(f)) throw new UsageError(`--format: unknown map format "${f}" (known: ${MAP_FORMATS.join(', ')})`);
  return f;
}

const describeSource = (v: MapVersionResponse): string => {
  const o = v.origin;
  if (v.source === 'proposal') return `proposal ${String(o.policy ?? '')} run ${String(o.runId ?? '').slice(0, 8)}`.trim();
  if (v.source === 'import') return `import (${String(o.format ?? '?')})`;
  return v.source;
};

const FORMAT = { type: 'string', value: 'FORMAT', help: `${MAP_FORMATS.join(', ')}` } as const;
const FIRST_MOE_LAYER = { type: 'string', value: 'N', help: 'model layer id of MoE layer 0, for sglang and trtllm files (3 for DeepSeek-V3/R1)' } as const;

export const MAPS: CommandGroup<ApiContext> = {
  name: 'maps',
  summary: "A deployment's map versions through the API: lineage, a version's map, per-layer diffs, export and import in engine formats.",
  common: OUTPUT_OPTIONS,
  verbs: {
    list: {
      args: 'ID [--limit N]',
      summary: 'map versions, newest first: parent, created at/by, source, reason',
      options: { limit: { type: 'string', value: 'N', help: 'at most N (default 100)' } },
      examples: ['eplb maps list dsv3-a'],
      async run(line, { api, out }) {
        noMoreArguments(line, 1);
        const r = await api.listMapVersions(positional(line, 0, 'ID'), { limit: intOption(line, 'limit', 1) });
        out.show(r, (x) =>
          table(
            ['VERSION', 'PARENT', 'CREATED', 'BY', 'SOURCE', 'REASON'],
            x.items.map((v) => [v.version === x.latest ? `${v.version} (latest)` : v.version, v.parentVersion ?? '-', when(v.createdAt), v.createdBy, describeSource(v), v.reason]),
          ),
        );
      },
    },
    show: {
      args: 'ID VERSION',
      summary: "one map version: per layer, the logical experts of each rank",
      examples: ['eplb maps show dsv3-a 4'],
      async run(line, { api, out }) {
        noMoreArguments(line, 2);
        const m = await api.getMapVersion(positional(line, 0, 'ID'), versionArgument(line));
        out.show(m, () => {
          const S = m.slotsPerRank;
          return [
            `deployment ${m.deployment}  map version ${m.version}  parent ${m.parentVersion ?? '-'}`,
            `created ${when(m.createdAt)} by ${m.createdBy} (${describeSource(m)}): ${m.reason}`,
            `${m.physicalToLogical.length} layers × ${m.numRanks} ranks × ${S} slots; per layer, the logical experts of each rank:`,
            ...m.physicalToLogical.map((row, l) => `layer ${String(l).padStart(3)}: ${Array.from({ length: m.numRanks }, (_, r) => row.slice(r * S, r * S + S).join(' ')).join(' | ')}`),
          ];
        });
      },
    },
    diff: {
      args: 'ID VERSION [--against N]',
      summary: 'per layer: slots changed, transfers and bytes from --against (default: the parent) to VERSION',
      options: { against: { type: 'string', value: 'N', help: 'the version to diff against (default: the parent)' } },
      examples: ['eplb maps diff dsv3-a 4', 'eplb maps diff dsv3-a 4 --against 2'],
      async run(line, { api, out }) {
        noMoreArguments(line, 2);
        const d = await api.diffMapVersions(positional(line, 0, 'ID'), versionArgument(line), intOption(line, 'against', 1));
        out.show(d, () => {
          const changed = d.layers.filter((l) => l.slotsChanged > 0);
          return [
            `${d.deployment}: version ${d.against} → ${d.version}: ${d.totals.layersChanged} of ${d.layers.length} layers change, ${d.totals.slotsChanged} slots, ${d.totals.transfers} transfers (${bytes(d.totals.bytes)} at ${bytes(d.expertBytes)} per expert), ${d.totals.localCopies} local copies`,
            ...(changed.length
              ? table(
                  ['LAYER', 'SLOTS', 'TRANSFERS', 'BYTES', 'LOCAL', 'RANKS'],
                  changed.map((l) => [l.layer, l.slotsChanged, l.transfers, bytes(l.bytes), l.localCopies, l.ranksTouched]),
                )
              : []),
          ];
        });
      },
    },
    export: {
      args: 'ID VERSION --format FORMAT [--output FILE] [--first-moe-layer N]',
      summary: 'a map version as an engine reads it (stdout by default; trtllm as YAML)',
      options: { format: FORMAT, output: { type: 'string', value: 'FILE', help: 'write here instead of stdout' }, 'first-moe-layer': FIRST_MOE_LAYER },
      examples: ['eplb maps export dsv3-a 4 --format trtllm --first-moe-layer 3 --output moe_load_balancer.yaml'],
      rawOutput: true,
      async run(line, { api }) {
        noMoreArguments(line, 2);
        const text = await api.exportMapVersion(positional(line, 0, 'ID'), versionArgument(line), formatOption(line), intOption(line, 'first-moe-layer', 0));
        const output = line.string('output');
        if (output) await writeFile(output, text);
        else process.stdout.write(text);
      },
    },
    import: {
      args: 'ID --format FORMAT [--input FILE] [--reason TEXT] [--parent N] [--first-moe-layer N]',
      summary: "a new map version from an engine's map file (stdin by default), checked against the deployment's shape",
      options: {
        format: FORMAT,
        input: { type: 'string', value: 'FILE', help: 'read this instead of stdin' },
        reason: { type: 'string', value: 'TEXT', help: 'why (recorded with the version)' },
        parent: { type: 'string', value: 'N', help: 'the version the map was made against; refused unless it is the latest' },
        'first-moe-layer': FIRST_MOE_LAYER,
      },
      examples: ['eplb maps import dsv3-a --format vllm-ascend --input expert_map.json --reason "static EPLB warm start"'],
      async run(line, { api, out }) {
        const id = positional(line, 0, 'ID');
        noMoreArguments(line, 1, 'import takes the file with --input');
        const format = formatOption(line);
        const input = line.string('input');
        const document = input ? await readFile(input, 'utf8') : await readStdin();
        const parent = intOption(line, 'parent', 1);
        const first = intOption(line, 'first-moe-layer', 0);
        const v = await api.importMapVersion(id, {
          format,
          document,
          reason: line.string('reason') ?? `imported ${input ?? 'from stdin'} (${format}) with the eplb CLI`,
          ...(parent !== undefined ? { parent } : {}),
          ...(first !== undefined ? { firstMoeLayer: first } : {}),
        });
        out.show(v, (x) => [`imported map version ${x.version} (parent ${x.parentVersion ?? '-'}) of ${id}`]);
      },
    },
  },
};

/** `eplb maps …`: a deployment's map versions through the API — list, show, diff, export, import. */
export const mapsCommand = (argv: string[], api: ApiClient = defaultApiClient()): Promise<number> => runApiGroup(MAPS, argv, api);
