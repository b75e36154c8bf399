import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MapVersionResponse, parseMapFile } from '@eplb/contracts';
import { DomainError, ExpertMap, ImportOptions, MapFormat, importExpertMap, invalid } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, EventMeta, StaleMapVersionError } from '@eplb/persistence';
import { conflictProblem, notFoundProblem } from '@eplb/platform';
import { toMapVersionResponse } from './map-version.response';

export interface ImportMapVersionCommand {
  readonly deployment: string;
  readonly format: MapFormat;
  /** The file's text (JSON, or YAML for trtllm), or the parsed JSON document. */
  readonly document: string | Record<string, unknown>;
  /** The version the map was made against; must be the latest (default: the latest). */
  readonly parent?: number;
  /** Model layer id of MoE layer 0, for sglang and trtllm files keyed by model layer. */
  readonly firstMoeLayer?: number;
}

/** Where each format keeps its rows and its EP size, for errors that name the field. */
const fields: Record<MapFormat, { rows: string; row: (l: number) => string; ranks: string }> = {
  'vllm-ascend': { rows: 'layer_list', row: (l) => `layer_list[${l}]`, ranks: 'layer_list[0].device_count' },
  sglang: { rows: 'physical_to_logical_map', row: (l) => `physical_to_logical_map[${l}]`, ranks: 'ranks' },
  trtllm: { rows: 'initial_global_assignments', row: (l) => `initial_global_assignments[${l}]`, ranks: 'num_slots' },
  eplb: { rows: 'physical_to_logical', row: (l) => `physical_to_logical[${l}]`, ranks: 'num_ranks' },
};

/**
 * A new map version from an engine's map file (any of MAP_FORMATS), checked against the
 * deployment's shape: L layers, P = R·S slots, R ranks, every id in [0, E) and every expert
 * replicated. Errors name the field as `document.<the format's own path>`. Recorded like an
 * approved proposal: an immutable version on top of the latest, and its `map-version.created`
 * event with the actor and reason (`{source: 'import', format}`).
 */
@Injectable()
export class ImportMapVersionUseCase {
  constructor(
    private readonly ds: DataSource,
    private readonly deployments: DeploymentRepository,
  ) {}

  async execute(cmd: ImportMapVersionCommand, meta: EventMeta): Promise<MapVersionResponse> {
    const d = await this.deployments.find(cmd.deployment);
    if (!d) throw notFoundProblem(`deployment ${cmd.deployment} does not exist`);
    const rows = this.parse(cmd, d);
    const parent = cmd.parent ?? d.latestMapVersion;
    let version: number;
    try {
      version = await this.ds.transaction((em) => this.deployments.createMapVersion(em, d.id, parent, rows, meta, { source: 'import', format: cmd.format }));
    } catch (err) {
      if (err instanceof StaleMapVersionError) throw conflictProblem(err.message);
      throw err;
    }
    const created = await this.deployments.findMapVersion(d.id, version);
    return toMapVersionResponse(created!);
  }

  private parse(cmd: ImportMapVersionCommand, d: DeploymentRecord): number[][] {
    const f = fields[cmd.format];
    const P = d.numRanks * d.slotsPerRank;
    let map: ExpertMap;
    try {
      const opts: ImportOptions = {
        experts: d.numExperts,
        ...(cmd.firstMoeLayer !== undefined ? { firstMoeLayer: cmd.firstMoeLayer } : {}),
        // formats that record the EP size are checked against ours below, naming their field
        ...(recordsRanks(cmd) ? {} : { ranks: d.numRanks }),
      };
      map = typeof cmd.document === 'string' ? parseMapFile(cmd.format, cmd.document, opts) : importExpertMap(cmd.format, cmd.document, opts);
      if (map.numRanks !== d.numRanks) throw invalid(f.ranks, `the map has ${map.numRanks} ranks, deployment ${d.id} has ${d.numRanks}`);
      const L = map.physicalToLogical.length;
      if (L !== d.numLayers) throw invalid(f.rows, `has ${L} MoE layers, deployment ${d.id} has ${d.numLayers}`);
      const slots = map.physicalToLogical[0].length;
      if (slots !== P) throw invalid(f.row(0), `has ${slots} slots, deployment ${d.id} has ${P} (${d.numRanks} ranks × ${d.slotsPerRank})`);
    } catch (err) {
      if (err instanceof DomainError && err.field !== undefined) {
        const field = err.field === 'input' || err.field === '--ranks' ? 'document' : `document.${err.field.replace(/^--/, '')}`;
        throw invalid(field, err.message.slice(err.field.length + 2));
      }
      throw err;
    }
    return map.physicalToLogical;
  }
}

/** vllm-ascend files carry device_count, eplb plan files may carry num_ranks. */
function recordsRanks(cmd: ImportMapVersionCommand): boolean {
  if (cmd.format === 'vllm-ascend') return true;
  if (cmd.format !== 'eplb') return false;
  if (typeof cmd.document !== 'string') return cmd.document.num_ranks !== undefined;
  try {
    const doc = JSON.parse(cmd.document) as unknown;
    return typeof doc === 'object' && doc !== null && (doc as Record<string, unknown>).num_ranks !== undefined;
  } catch {
    return false; // the parser names the syntax error
  }
}
