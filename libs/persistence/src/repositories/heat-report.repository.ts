import { DataSource, EntityManager } from 'typeorm';
import { HeatReportEntity } from '../entities/heat-report.entity';

export interface HeatReport {
  readonly deploymentId: string;
  readonly rank: number;
  readonly step: number;
  readonly steps: number;
  readonly phase: string;
  readonly mapVersion: number;
  readonly layerVersions: number[] | null;
  readonly reportedAt: Date;
  /** load[layer][local slot] */
  readonly load: number[][];
}

export interface HeatQuery {
  readonly deploymentId: string;
  readonly fromStep?: number;
  readonly toStep?: number;
  readonly rank?: number;
  readonly limit: number;
}

export class HeatReportRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Stores reports idempotently: a (deployment, rank, step) already stored is left untouched.
   * Returns how many were new. Runs in the caller's transaction when given one.
   */
  async insertIdempotent(reports: readonly HeatReport[], em: EntityManager = this.ds.manager): Promise<number> {
    if (reports.length === 0) return 0;
    const result = await em
      .createQueryBuilder()
      .insert()
      .into(HeatReportEntity)
      .values(
        reports.map((r) => ({
          deploymentId: r.deploymentId,
          rank: r.rank,
          step: String(r.step),
          steps: r.steps,
          phase: r.phase,
          mapVersion: r.mapVersion,
          layerVersions: r.layerVersions,
          reportedAt: r.reportedAt,
          load: r.load.flat(),
        })),
      )
      .orIgnore()
      .returning(['rank'])
      .execute();
    return (result.raw as unknown[]).length;
  }

  async query(q: HeatQuery, slotsPerRank: number): Promise<HeatReport[]> {
    const qb = this.ds
      .getRepository(HeatReportEntity)
      .createQueryBuilder('h')
      .where('h.deployment_id = :id', { id: q.deploymentId })
      .orderBy('h.step', 'ASC')
      .addOrderBy('h.rank', 'ASC')
      .limit(q.limit);
    if (q.fromStep !== undefined) qb.andWhere('h.step >= :from', { from: q.fromStep });
    if (q.toStep !== undefined) qb.andWhere('h.step < :to', { to: q.toStep });
    if (q.rank !== undefined) qb.andWhere('h.rank = :rank', { rank: q.rank });
    const rows = await qb.getMany();
    return rows.map((r) => {
      const load: number[][] = [];
      for (let i = 0; i < r.load.length; i += slotsPerRank) load.push(r.load.slice(i, i + slotsPerRank));
      return {
        deploymentId: r.deploymentId,
        rank: r.rank,
        step: Number(r.step),
        steps: r.steps,
        phase: r.phase,
        mapVersion: r.mapVersion,
        layerVersions: r.layerVersions,
        reportedAt: r.reportedAt,
        load,
      };
    });
  }
}
