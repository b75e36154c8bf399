import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { deploymentIdSchema, MapDiffResponse, MapVersionDetailResponse, MapVersionListResponse, MapVersionResponse } from '@eplb/contracts';
import { MAP_FORMATS } from '@eplb/domain';
import { EventMeta } from '@eplb/persistence';
import { ZodPipe, ZodQuery } from '@eplb/platform';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { DiffMapVersionsUseCase } from './diff-map-versions.use-case';
import { GetMapVersionUseCase } from './get-map-version.use-case';
import { ImportMapVersionUseCase } from './import-map-version.use-case';
import { ListMapVersionsUseCase } from './list-map-versions.use-case';

const version = z.coerce.number().int().positive().max(2 ** 31 - 1);
const firstMoeLayer = z.coerce.number().int().nonnegative().max(100_000);
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100), before: version.optional() });
const showQuery = z.strictObject({ format: z.enum(MAP_FORMATS).optional(), firstMoeLayer: firstMoeLayer.optional() });
const diffQuery = z.strictObject({ against: version.optional() });
const importBody = z.strictObject({
  format: z.enum(MAP_FORMATS),
  /** The engine's map file: its text (JSON, or YAML for trtllm), or the JSON document itself. */
  document: z.union([z.string().min(1).max(16 << 20), z.record(z.string(), z.unknown())]),
  reason: z.string().min(1).max(2000),
  /** The version the map was made against; refused (409) unless it is the latest. */
  parent: z.number().int().positive().optional(),
  firstMoeLayer: z.number().int().nonnegative().max(100_000).optional(),
});
const id = new ZodPipe(deploymentIdSchema, 'param');
const versionParam = new ZodPipe(version, 'param');

/** Map versions: lineage, the maps themselves in our JSON or an engine's format, diffs, imports. */
@ApiTags('maps')
@ApiBearerAuth()
@Controller('v1/deployments/:id/maps')
export class MapsController {
  constructor(
    private readonly listVersions: ListMapVersionsUseCase,
    private readonly getVersion: GetMapVersionUseCase,
    private readonly diffVersions: DiffMapVersionsUseCase,
    private readonly importVersion: ImportMapVersionUseCase,
  ) {}

  @Get()
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'Map versions, newest first: parent, created at/by, reason, source (initial, proposal, import)' })
  list(@Param('id', id) dep: string, @ZodQuery(listQuery) q: z.infer<typeof listQuery>): Promise<MapVersionListResponse> {
    return this.listVersions.execute(dep, q.limit, q.before);
  }

  @Post()
  @HttpCode(201)
  @Roles('operator')
  @ApiOperation({ summary: 'Import a map version from an engine map file (vllm-ascend, sglang, trtllm, eplb), checked against the deployment shape' })
  @ApiBody({ schema: z.toJSONSchema(importBody) as object })
  import(@Param('id', id) dep: string, @Body(new ZodPipe(importBody)) body: z.infer<typeof importBody>, @Actor() meta: EventMeta): Promise<MapVersionResponse> {
    const { reason, ...cmd } = body;
    return this.importVersion.execute({ deployment: dep, ...cmd }, { ...meta, reason });
  }

  @Get(':version')
  @Roles('operator', 'analyst', 'agent')
  @ApiProduces('application/json', 'application/yaml')
  @ApiOperation({ summary: 'One map version; `format` exports it as an engine reads it (trtllm as YAML)' })
  async get(
    @Param('id', id) dep: string,
    @Param('version', versionParam) v: number,
    @ZodQuery(showQuery) q: z.infer<typeof showQuery>,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MapVersionDetailResponse | string> {
    if (q.format === undefined) return this.getVersion.execute(dep, v);
    const out = await this.getVersion.export(dep, v, q.format, q.firstMoeLayer);
    res.type(out.contentType).setHeader('content-disposition', `inline; filename="${out.fileName}"`);
    return out.body;
  }

  @Get(':version/diff')
  @Roles('operator', 'analyst')
  @ApiOperation({ summary: 'Per layer: slots changed, transfers and bytes from `against` (default: the parent) to this version; totals' })
  diff(@Param('id', id) dep: string, @Param('version', versionParam) v: number, @ZodQuery(diffQuery) q: z.infer<typeof diffQuery>): Promise<MapDiffResponse> {
    return this.diffVersions.execute(dep, v, q.against);
  }
}
