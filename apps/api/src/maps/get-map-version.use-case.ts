import { Injectable } from '@nestjs/common';
import { formatMapFile, MapVersionDetailResponse } from '@eplb/contracts';
import { MapFormat } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, MapVersionRecord } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';
import { toMapVersionResponse } from './map-version.response';

/** Media types of the engine formats: YAML for TensorRT-LLM's load balancer file, JSON otherwise. */
export const MAP_FORMAT_CONTENT_TYPES: Record<MapFormat, string> = {
  'vllm-ascend': 'application/json; charset=utf-8',
  sglang: 'application/json; charset=utf-8',
  trtllm: 'application/yaml; charset=utf-8',
  eplb: 'application/json; charset=utf-8',
};

export interface ExportedMap {
  readonly contentType: string;
  readonly fileName: string;
  readonly body: string;
}

/** One map version: as our JSON, or exported as an engine's map file (vllm-ascend, sglang, trtllm, eplb). */
@Injectable()
export class GetMapVersionUseCase {
  constructor(private readonly deployments: DeploymentRepository) {}

  async load(dep: string, version: number): Promise<{ d: DeploymentRecord; v: MapVersionRecord }> {
    const d = await this.deployments.find(dep);
    if (!d) throw notFoundProblem(`deployment ${dep} does not exist`);
    const v = await this.deployments.findMapVersion(dep, version);
    if (!v) throw notFoundProblem(`deployment ${dep} has no map version ${version} (latest: ${d.latestMapVersion})`);
    return { d, v };
  }

  async execute(dep: string, version: number): Promise<MapVersionDetailResponse> {
    const { d, v } = await this.load(dep, version);
    return { deployment: d.id, ...toMapVersionResponse(v), numRanks: d.numRanks, slotsPerRank: d.slotsPerRank, physicalToLogical: v.physicalToLogical };
  }

  /** The map as `format` text; `firstMoeLayer` keys sglang and trtllm files by model layer. */
  async export(dep: string, version: number, format: MapFormat, firstMoeLayer?: number): Promise<ExportedMap> {
    const { d, v } = await this.load(dep, version);
    const body = formatMapFile(format, { physicalToLogical: v.physicalToLogical, numRanks: d.numRanks }, { experts: d.numExperts, ...(firstMoeLayer !== undefined ? { firstMoeLayer } : {}) });
    const ext = format === 'trtllm' ? 'yaml' : 'json';
    return { contentType: MAP_FORMAT_CONTENT_TYPES[format], fileName: `${d.id}-v${version}.${format}.${ext}`, body };
  }
}
