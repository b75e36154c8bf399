import { Controller, Get, Header, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { deploymentIdSchema, EpisodeListResponse, HeatFile, ImbalanceTrend, LayersHeatmap, LayerTimeHeatmap, TopExpertsResponse } from '@eplb/contracts';
import { ZodPipe, ZodQuery } from '@eplb/platform';
import { Roles } from '../auth/roles.decorator';
import { HeatExportUseCase, MAX_EXPORT_EPISODES } from './heat-export.use-case';
import { HeatRangeResolver, rangeQuery, RESOLUTIONS } from './heat-range';
import { HeatmapUseCase, MAX_BUCKETS } from './heatmap.use-case';
import { ImbalanceTrendUseCase } from './imbalance-trend.use-case';
import { ListEpisodesUseCase } from './list-episodes.use-case';
import { TopExpertsUseCase } from './top-experts.use-case';

const resolution = z.enum(RESOLUTIONS).default('auto');
const episodesQuery = rangeQuery.extend({
  afterEpisode: z.coerce.number().int().min(-1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  loads: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});
const heatmapQuery = rangeQuery.extend({
  resolution,
  layer: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_BUCKETS).default(1440),
  encoding: z.enum(['json', 'f32']).default('json'),
});
const topQuery = rangeQuery.extend({ resolution, k: z.coerce.number().int().min(1).max(1000).default(10), layer: z.coerce.number().int().nonnegative().optional() });
const trendQuery = rangeQuery.extend({ resolution, limit: z.coerce.number().int().min(1).max(MAX_BUCKETS).default(1440) });
const csvQuery = rangeQuery.extend({ resolution });
const heatFileQuery = rangeQuery.extend({ episodes: z.coerce.number().int().min(1).max(MAX_EXPORT_EPISODES).default(64) });
const id = new ZodPipe(deploymentIdSchema, 'param');

/** The analyst API over the heat history. Ranges are [from, to) in ISO-8601; default: the last hour. */
@ApiTags('heat')
@ApiBearerAuth()
@Roles('analyst', 'operator')
@Controller('v1/deployments/:id/heat')
export class HeatController {
  constructor(
    private readonly ranges: HeatRangeResolver,
    private readonly listEpisodes: ListEpisodesUseCase,
    private readonly heatmaps: HeatmapUseCase,
    private readonly top: TopExpertsUseCase,
    private readonly trend: ImbalanceTrendUseCase,
    private readonly exports: HeatExportUseCase,
  ) {}

  @Get('episodes')
  @ApiOperation({ summary: 'Stored episodes: imbalance per layer under the map in force, missing ranks, optionally logical loads' })
  async episodes(@Param('id', id) dep: string, @ZodQuery(episodesQuery) q: z.infer<typeof episodesQuery>): Promise<EpisodeListResponse> {
    return this.listEpisodes.execute(await this.ranges.resolve(dep, q), q);
  }

  @Get('heatmap')
  @ApiOperation({ summary: 'Heatmap: layers × experts summed over the range, or with `layer`, that layer × experts × time' })
  async heatmap(@Param('id', id) dep: string, @ZodQuery(heatmapQuery) q: z.infer<typeof heatmapQuery>): Promise<LayersHeatmap | LayerTimeHeatmap> {
    const range = await this.ranges.resolve(dep, q);
    return q.layer === undefined ? this.heatmaps.layers(range, q.resolution) : this.heatmaps.layerOverTime(range, q.layer, q.resolution, q.limit, q.encoding);
  }

  @Get('top')
  @ApiOperation({ summary: 'The k hottest logical experts over the range (per layer share)' })
  async hottest(@Param('id', id) dep: string, @ZodQuery(topQuery) q: z.infer<typeof topQuery>): Promise<TopExpertsResponse> {
    return this.top.execute(await this.ranges.resolve(dep, q), q.k, q.resolution, q.layer);
  }

  @Get('imbalance')
  @ApiOperation({ summary: 'Imbalance trend per layer (max/mean rank load under the map in force)' })
  async imbalance(@Param('id', id) dep: string, @ZodQuery(trendQuery) q: z.infer<typeof trendQuery>): Promise<ImbalanceTrend> {
    return this.trend.execute(await this.ranges.resolve(dep, q), q.resolution, q.limit);
  }

  @Get('export.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiProduces('text/csv')
  @ApiOperation({ summary: 'CSV `layer_id,expert_id,count` summed over the range' })
  async csv(@Param('id', id) dep: string, @ZodQuery(csvQuery) q: z.infer<typeof csvQuery>): Promise<string> {
    return this.exports.csv(await this.ranges.resolve(dep, q), q.resolution);
  }

  @Get('export/heat-file')
  @ApiOperation({ summary: 'The range as a heat file (the `eplb plan --input` format) with the current map, for `eplb plan --input`' })
  async heatFile(@Param('id', id) dep: string, @ZodQuery(heatFileQuery) q: z.infer<typeof heatFileQuery>): Promise<HeatFile> {
    return this.exports.heatFile(await this.ranges.resolve(dep, q), q.episodes);
  }
}
