import { Injectable } from '@nestjs/common';
import { DeploymentRepository, HeatReport, HeatReportRepository } from '@eplb/persistence';
import { notFoundProblem } from '@eplb/platform';

export interface HeatReportResponse {
  rank: number;
  step: number;
  steps: number;
  phase: string;
  mapVersion: number;
  layerVersions: number[] | null;
  ts: string;
  /** load[layer][local slot]: tokens routed to each slot of the rank */
  load: number[][];
}

export interface HeatReportPage {
  deployment: string;
  items: HeatReportResponse[];
  /** Pass as fromStep to read on; null at the end. Pages never split a step across ranks unevenly: same step repeats. */
  nextFromStep: number | null;
}

const toResponse = (r: HeatReport): HeatReportResponse => ({
  rank: r.rank,
  step: r.step,
  steps: r.steps,
  phase: r.phase,
  mapVersion: r.mapVersion,
  layerVersions: r.layerVersions,
  ts: r.reportedAt.toISOString(),
  load: r.load,
});

/** Raw heat reports of a deployment as stored, in (step, rank) order. */
@Injectable()
export class ListHeatReportsUseCase {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly reports: HeatReportRepository,
  ) {}

  async execute(q: { deployment: string; fromStep?: number; toStep?: number; rank?: number; limit: number }): Promise<HeatReportPage> {
    const d = await this.deployments.find(q.deployment);
    if (!d) throw notFoundProblem(`deployment ${q.deployment} does not exist`);
    const rows = await this.reports.query({ deploymentId: d.id, fromStep: q.fromStep, toStep: q.toStep, rank: q.rank, limit: q.limit + 1 }, d.slotsPerRank);
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map(toResponse);
    return { deployment: d.id, items, nextFromStep: more ? rows[q.limit].step : null };
  }
}
