import { DataSource } from 'typeorm';
import { DeploymentEntity } from '../entities/deployment.entity';
import { MapVersionEntity } from '../entities/map-version.entity';
import { appendEvents, EventMeta } from './event-store';

export interface DeploymentRecord {
  readonly id: string;
  readonly numLayers: number;
  readonly numExperts: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly numNodes: number;
  readonly numGroups: number | null;
  readonly episodeSteps: number;
  readonly intervalSteps: number;
  readonly latenessSteps: number;
  readonly latestMapVersion: number;
  readonly createdAt: Date;
}

export interface NewDeployment {
  readonly id: string;
  readonly numLayers: number;
  readonly numExperts: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly numNodes: number;
  readonly numGroups: number | null;
  readonly episodeSteps: number;
  readonly intervalSteps: number;
  readonly latenessSteps: number;
  readonly initialMap: number[][];
}

export class DeploymentExistsError extends Error {}

const toRecord = (e: DeploymentEntity): DeploymentRecord => ({
  id: e.id,
  numLayers: e.numLayers,
  numExperts: e.numExperts,
  numRanks: e.numRanks,
  slotsPerRank: e.slotsPerRank,
  numNodes: e.numNodes,
  numGroups: e.numGroups,
  episodeSteps: e.episodeSteps,
  intervalSteps: e.intervalSteps,
  latenessSteps: e.latenessSteps,
  latestMapVersion: e.latestMapVersion,
  createdAt: e.createdAt,
});

export class DeploymentRepository {
  constructor(private readonly ds: DataSource) {}

  async find(id: string): Promise<DeploymentRecord | null> {
    const row = await this.ds.getRepository(DeploymentEntity).findOneBy({ id });
    return row ? toRecord(row) : null;
  }

  async list(limit: number, afterId?: string): Promise<DeploymentRecord[]> {
    const qb = this.ds.getRepository(DeploymentEntity).createQueryBuilder('d').orderBy('d.id', 'ASC').limit(limit);
    if (afterId) qb.where('d.id > :afterId', { afterId });
    return (await qb.getMany()).map(toRecord);
  }

  /** Registers the deployment with map version 1, and both events, in one transaction. */
  async create(d: NewDeployment, meta: EventMeta): Promise<DeploymentRecord> {
    return this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(DeploymentEntity)
        .values({
          id: d.id,
          numLayers: d.numLayers,
          numExperts: d.numExperts,
          numRanks: d.numRanks,
          slotsPerRank: d.slotsPerRank,
          numNodes: d.numNodes,
          numGroups: d.numGroups,
          episodeSteps: d.episodeSteps,
          intervalSteps: d.intervalSteps,
          latenessSteps: d.latenessSteps,
          latestMapVersion: 1,
        })
        .orIgnore()
        .returning('*')
        .execute();
      if (inserted.raw.length === 0) throw new DeploymentExistsError(`deployment ${d.id} already exists`);
      await em.getRepository(MapVersionEntity).insert({
        deploymentId: d.id,
        version: 1,
        parentVersion: null,
        physicalToLogical: d.initialMap,
        createdBy: meta.actor,
        reason: meta.reason,
      });
      const { initialMap: _map, ...shape } = d;
      await appendEvents(em, [
        { stream: `deployment:${d.id}`, type: 'deployment.created', payload: { ...shape }, ...meta },
        { stream: `deployment:${d.id}`, type: 'map-version.created', payload: { version: 1, parentVersion: null }, ...meta },
      ]);
      return toRecord((await em.getRepository(DeploymentEntity).findOneByOrFail({ id: d.id })));
    });
  }

  /** Map versions are immutable, so callers may cache what this returns forever. */
  async mapVersion(deploymentId: string, version: number): Promise<number[][] | null> {
    const row = await this.ds.getRepository(MapVersionEntity).findOneBy({ deploymentId, version });
    return row?.physicalToLogical ?? null;
  }
}
