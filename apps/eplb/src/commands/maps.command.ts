import { readFile, writeFile } from 'node:fs/promises';
import { MAP_FORMATS, isMapFormat } from '@eplb/domain';
import { ApiClient } from '../api-client';
import { ParsedArgs, UsageError, parseArgs, requiredOption, stringOption } from '../args';
import { bytes, printJson, printLines, table, when } from '../output';

const USAGE = `usage: eplb maps list ID [--limit N] [--json]
       eplb maps show ID VERSION [--json]
       eplb maps diff ID VERSION [--against N] [--json]          (default: against its parent)
       eplb maps export ID VERSION --format FORMAT [--output FILE] [--first-moe-layer N]
       eplb maps import ID --format FORMAT [--input FILE] [--reason TEXT] [--parent N] [--first-moe-layer N] [--json]
  FORMAT: ${MAP_FORMATS.join(', ')}   (export writes stdout, import reads stdin, by default)`;

interface MapVersion {
  version: number;
  parentVersion: number | null;
  createdAt: string;
  createdBy: string;
  reason: string;
  source: string;
  origin: Record<string, unknown>;
}

interface MapDetail extends MapVersion {
  deployment: string;
  numRanks: number;
  slotsPerRank: number;
  physicalToLogical: number[][];
}

interface LayerDiff {
  layer: number;
  slotsChanged: number;
  transfers: number;
  localCopies: number;
  bytes: number;
  ranksTouched: number;
}

interface MapDiff {
  deployment: string;
  version: number;
  against: number;
  expertBytes: number;
  layers: LayerDiff[];
  totals: { layersChanged: number; slotsChanged: number; transfers: number; localCopies: number; bytes: number };
}

function positiveInt(args: ParsedArgs, name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < (name === 'first-moe-layer' ? 0 : 1)) throw new UsageError(`--${name} must be a ${name === 'first-moe-layer' ? 'non-negative' : 'positive'} integer, got "${v}"`);
  return Number(v);
}

const describeSource = (v: MapVersion): string => {
  const o = v.origin;
  if (v.source === 'proposal') return `proposal ${String(o.policy ?? '')} run ${String(o.runId ?? '').slice(0, 8)}`.trim();
  if (v.source === 'import') return `import (${String(o.format ?? '?')})`;
  return v.source;
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `eplb maps …`: a deployment's map versions through the API — list, show, diff, export, import. */
export async function mapsCommand(argv: string[], api = new ApiClient()): Promise<number> {
  const [verb, ...rest] = argv;
  const args = parseArgs(rest, { values: ['limit', 'against', 'format', 'output', 'input', 'reason', 'parent', 'first-moe-layer'], flags: ['json'] });
  const json = args.options.has('json');
  const [id, ver] = args.positional;
  const need = (v: string | undefined, what: string) => {
    if (!v) throw new UsageError(`missing ${what}\n${USAGE}`);
    return encodeURIComponent(v);
  };
  const versionArg = () => {
    const v = need(ver, 'VERSION');
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`VERSION must be a positive integer, got "${ver}"`);
    return v;
  };
  const format = () => {
    const f = requiredOption(args, 'format');
    if (!isMapFormat(f)) throw new UsageError(`--format: unknown map format "${f}" (known: ${MAP_FORMATS.join(', ')})`);
    return f;
  };
  switch (verb) {
    case 'list': {
      const limit = positiveInt(args, 'limit');
      const r = await api.call<{ latest: number; items: MapVersion[]; next: number | null }>('GET', `/v1/deployments/${need(id, 'ID')}/maps${limit ? `?limit=${limit}` : ''}`);
      if (json) {
        printJson(r);
        return 0;
      }
      printLines(
        table(
          ['VERSION', 'PARENT', 'CREATED', 'BY', 'SOURCE', 'REASON'],
          r.items.map((v) => [v.version === r.latest ? `${v.version} (latest)` : v.version, v.parentVersion ?? '-', when(v.createdAt), v.createdBy, describeSource(v), v.reason]),
        ),
      );
      return 0;
    }
    case 'show': {
      const m = await api.call<MapDetail>('GET', `/v1/deployments/${need(id, 'ID')}/maps/${versionArg()}`);
      if (json) {
        printJson(m);
        return 0;
      }
      const S = m.slotsPerRank;
      printLines([
        `deployment ${m.deployment}  map version ${m.version}  parent ${m.parentVersion ?? '-'}`,
        `created ${when(m.createdAt)} by ${m.createdBy} (${describeSource(m)}): ${m.reason}`,
        `${m.physicalToLogical.length} layers × ${m.numRanks} ranks × ${S} slots; per layer, the logical experts of each rank:`,
        ...m.physicalToLogical.map((row, l) => `layer ${String(l).padStart(3)}: ${Array.from({ length: m.numRanks }, (_, r) => row.slice(r * S, r * S + S).join(' ')).join(' | ')}`),
      ]);
      return 0;
    }
    case 'diff': {
      const against = positiveInt(args, 'against');
      const d = await api.call<MapDiff>('GET', `/v1/deployments/${need(id, 'ID')}/maps/${versionArg()}/diff${against ? `?against=${against}` : ''}`);
      if (json) {
        printJson(d);
        return 0;
      }
      const changed = d.layers.filter((l) => l.slotsChanged > 0);
      printLines([
        `${d.deployment}: version ${d.against} → ${d.version}: ${d.totals.layersChanged} of ${d.layers.length} layers change, ${d.totals.slotsChanged} slots, ${d.totals.transfers} transfers (${bytes(d.totals.bytes)} at ${bytes(d.expertBytes)} per expert), ${d.totals.localCopies} local copies`,
        ...(changed.length
          ? table(
              ['LAYER', 'SLOTS', 'TRANSFERS', 'BYTES', 'LOCAL', 'RANKS'],
              changed.map((l) => [l.layer, l.slotsChanged, l.transfers, bytes(l.bytes), l.localCopies, l.ranksTouched]),
            )
          : []),
      ]);
      return 0;
    }
    case 'export': {
      const f = format();
      const first = positiveInt(args, 'first-moe-layer');
      const q = new URLSearchParams({ format: f, ...(first !== undefined ? { firstMoeLayer: String(first) } : {}) });
      const text = await api.text('GET', `/v1/deployments/${need(id, 'ID')}/maps/${versionArg()}?${q}`);
      const output = stringOption(args, 'output');
      if (output) await writeFile(output, text);
      else process.stdout.write(text);
      return 0;
    }
    case 'import': {
      if (ver !== undefined) throw new UsageError(`unexpected argument "${ver}" (import takes the file with --input)\n${USAGE}`);
      const f = format();
      const input = stringOption(args, 'input');
      const document = input ? await readFile(input, 'utf8') : await readStdin();
      const parent = positiveInt(args, 'parent');
      const first = positiveInt(args, 'first-moe-layer');
      const body = {
        format: f,
        document,
        reason: stringOption(args, 'reason') ?? `imported ${input ?? 'from stdin'} (${f}) with the eplb CLI`,
        ...(parent !== undefined ? { parent } : {}),
        ...(first !== undefined ? { firstMoeLayer: first } : {}),
      };
      const v = await api.call<MapVersion>('POST', `/v1/deployments/${need(id, 'ID')}/maps`, body);
      if (json) {
        printJson(v);
        return 0;
      }
      printLines([`imported map version ${v.version} (parent ${v.parentVersion ?? '-'}) of ${decodeURIComponent(need(id, 'ID'))}`]);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}
