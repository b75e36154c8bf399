import { Injectable } from '@nestjs/common';
import type { MapDiffResponse } from '@eplb/contracts';
import { diffMaps } from '@eplb/domain';
import { shapeOf } from '@eplb/persistence';
import { validationProblem } from '@eplb/platform';
import { GetMapVersionUseCase } from './get-map-version.use-case';

/** Per layer: slots changed, transfers and bytes between two map versions (libs/domain diffMaps). */
@Injectable()
export class DiffMapVersionsUseCase {
  constructor(private readonly versions: GetMapVersionUseCase) {}

  async execute(dep: string, version: number, against?: number): Promise<MapDiffResponse> {
    const { d, v } = await this.versions.load(dep, version);
    const base = against ?? v.parentVersion;
    if (base === null) throw validationProblem([{ field: 'query.against', message: `version ${version} has no parent; name the version to diff against` }]);
    const { v: b } = await this.versions.load(dep, base);
    const diff = diffMaps(shapeOf(d), b.physicalToLogical, v.physicalToLogical, d.settings.expertBytes);
    return { deployment: d.id, version, against: base, expertBytes: d.settings.expertBytes, layers: diff.layers, totals: diff.totals };
  }
}
