import { DataSource, EntityManager } from 'typeorm';
import type { RolloutStepInput } from '@eplb/contracts';
import { DeploymentEntity } from '../entities/deployment.entity';
import { EventEntity } from '../entities/event.entity';
import { MapVersionEntity } from '../entities/map-version.entity';
import { appendEvents, EventMeta } from './event-store';

export const MODES = ['observe', 'approve', 'auto'] as const;
export type Mode = (typeof MODES)[number];

/** What the scheduler runs for a deployment, how often, and what may deploy by itself. */
export interface PolicySettings {
  readonly policy: string;
  /** 0 disables scheduled runs. */
  readonly cadenceSeconds: number;
  readonly threshold: number;
  readonly minGain: number;
  readonly maxTransfers: number | null;
  readonly phase: string;
  readonly mode: Mode;
  readonly expertBytes: number;
  /** Batches (and their analysis gates) of a rollout nobody spelled out: automatic, or an approval that deploys. */
  readonly rolloutSteps: readonly RolloutStepInput[];
  readonly rolloutOnFailure: RolloutOnFailure;
  /** Cap on the bytes each agent takes in per second during such a rollout; null: the agents' own cap. */
  readonly rolloutBytesPerSecond: number | null;
  /** The automatic loop starts at most this many rollouts in any hour (0: it never starts one). */
  readonly maxAutoRolloutsPerHour: number;
}

export const ROLLOUT_ON_FAILURE = ['rollback', 'hold'] as const;
export type RolloutOnFailure = (typeof ROLLOUT_ON_FAILURE)[number];

/** What an operator expects when nothing is said: the first layer alone behind a gate, then the rest; roll back on failure. */
export const DEFAULT_ROLLOUT_STEPS: readonly RolloutStepInput[] = [{ layers: 1, analysis: true }, 'rest'];

/** What a deployment is registered with: its shape and window lengths. */
export interface DeploymentShapeRecord {
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
}

export interface DeploymentRecord extends DeploymentShapeRecord {
  readonly latestMapVersion: number;
  readonly settings: PolicySettings;
  readonly settingsVersion: number;
  /** When the deployment entered its current mode. */
  readonly modeSince: Date;
  readonly createdAt: Date;
}

export interface NewDeployment extends DeploymentShapeRecord {
  readonly initialMap: number[][];
  /** Policy settings; the registry's defaults for what is left out. */
  readonly settings?: Partial<PolicySettings>;
}

export class DeploymentExistsError extends Error {}

/** A map version without its map: lineage, who made it, why, and where it came from. */
export interface MapVersionInfo {
  readonly deploymentId: string;
  readonly version: number;
  /** The version it was made against; null for version 1. */
  readonly parentVersion: number | null;
  readonly createdBy: string;
  readonly reason: string;
  readonly createdAt: Date;
  /**
   * What its `map-version.created` event says besides version and parent: `{runId, policy,
   * interval}` for an approved proposal, `{source: 'import', format}` for an import, `{}` for the
   * initial map.
   */
  readonly origin: Record<string, unknown>;
}

export interface MapVersionRecord extends MapVersionInfo {
  /** physical_to_logical[layer][slot] */
  readonly physicalToLogical: number[][];
}

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
  settings: {
    policy: e.policy,
    cadenceSeconds: e.cadenceSeconds,
    threshold: e.imbalanceThreshold,
    minGain: e.minGain,
    maxTransfers: e.maxTransfers,
    phase: e.balancePhase,
    mode: e.mode as Mode,
    expertBytes: Number(e.expertBytes),
    rolloutSteps: e.rolloutSteps ?? DEFAULT_ROLLOUT_STEPS,
    rolloutOnFailure: e.rolloutOnFailure as RolloutOnFailure,
    rolloutBytesPerSecond: e.rolloutBytesPerSecond === null ? null : Number(e.rolloutBytesPerSecond),
    maxAutoRolloutsPerHour: e.maxAutoRolloutsPerHour,
  },
  settingsVersion: e.settingsVersion,
  modeSince: e.modeSince,
  createdAt: e.createdAt,
});

export class StaleMapVersionError extends Error {}

/** Rows written before parents were recorded have none: the version before is the parent then. */
const toMapVersionInfo = (r: MapVersionEntity, origin: Record<string, unknown> | undefined): MapVersionInfo => ({
  deploymentId: r.deploymentId,
  version: r.version,
  parentVersion: r.parentVersion ?? (r.version > 1 ? r.version - 1 : null),
  createdBy: r.createdBy,
  reason: r.reason,
  createdAt: r.createdAt,
  origin: origin ?? {},
});

/** Settings as the table names them; what is absent keeps its value (or the column default). */
function settingsColumns(p: Partial<PolicySettings>): Partial<DeploymentEntity> {
  return {
    ...(p.policy !== undefined ? { policy: p.policy } : {}),
    ...(p.cadenceSeconds !== undefined ? { cadenceSeconds: p.cadenceSeconds } : {}),
    ...(p.threshold !== undefined ? { imbalanceThreshold: p.threshold } : {}),
    ...(p.minGain !== undefined ? { minGain: p.minGain } : {}),
    ...(p.maxTransfers !== undefined ? { maxTransfers: p.maxTransfers } : {}),
    ...(p.phase !== undefined ? { balancePhase: p.phase } : {}),
    ...(p.mode !== undefined ? { mode: p.mode } : {}),
    ...(p.expertBytes !== undefined ? { expertBytes: String(p.expertBytes) } : {}),
    ...(p.rolloutSteps !== undefined ? { rolloutSteps: [...p.rolloutSteps] } : {}),
    ...(p.rolloutOnFailure !== undefined ? { rolloutOnFailure: p.rolloutOnFailure } : {}),
    ...(p.rolloutBytesPerSecond !== undefined ? { rolloutBytesPerSecond: p.rolloutBytesPerSecond === null ? null : String(p.rolloutBytesPerSecond) } : {}),
    ...(p.maxAutoRolloutsPerHour !== undefined ? { maxAutoRolloutsPerHour: p.maxAutoRolloutsPerHour } : {}),
  };
}

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
          ...settingsColumns(d.settings ?? {}),
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
      const { initialMap: _map, ...registered } = d;
      await appendEvents(em, [
        { stream: `deployment:${d.id}`, type: 'deployment.created', payload: { ...registered }, ...meta },
        { stream: `deployment:${d.id}`, type: 'map-version.created', payload: { version: 1, parentVersion: null }, ...meta },
      ]);
      return toRecord((await em.getRepository(DeploymentEntity).findOneByOrFail({ id: d.id })));
    });
  }

  /** Ids of the deployments in one of `modes` (the automatic loop's work list). */
  async idsInModes(modes: readonly Mode[]): Promise<string[]> {
    const rows: { id: string }[] = await this.ds.query(`SELECT id FROM deployments WHERE mode = ANY($1::text[]) ORDER BY id`, [modes]);
    return rows.map((r) => r.id);
  }

  /**
   * Applies a settings change (a new settings version) and records it, in one transaction.
   * `note`: more for the event's payload (e.g. which rollout tripped the automatic loop).
   */
  async updateSettings(id: string, patch: Partial<PolicySettings>, meta: EventMeta, note: Record<string, unknown> = {}): Promise<DeploymentRecord | null> {
    return this.ds.transaction(async (em) => {
      const repo = em.getRepository(DeploymentEntity);
      const row = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) return null;
      const columns = settingsColumns(patch);
      const modeChanged = patch.mode !== undefined && patch.mode !== row.mode;
      await repo.update({ id }, { ...columns, settingsVersion: row.settingsVersion + 1, ...(modeChanged ? { modeSince: () => 'now()' } : {}) });
      await appendEvents(em, [
        { stream: `deployment:${id}`, type: 'deployment.settings-updated', payload: { ...note, ...patch, settingsVersion: row.settingsVersion + 1 }, ...meta },
      ]);
      return toRecord(await repo.findOneByOrFail({ id }));
    });
  }

  /**
   * A new immutable map version (the latest + 1) on top of `parent`. By default `parent` must be
   * the latest: an import made against an older map would silently undo whatever came in between.
   * A proposal is planned against the map in service, which may be older than versions approved
   * but never deployed (`parentMayBeOlder`): its caller checks the parent is in service.
   */
  async createMapVersion(
    em: EntityManager,
    id: string,
    parent: number,
    map: number[][],
    meta: EventMeta,
    origin: Record<string, unknown>,
    opts: { parentMayBeOlder?: boolean } = {},
  ): Promise<number> {
    const repo = em.getRepository(DeploymentEntity);
    const row = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw new StaleMapVersionError(`deployment ${id} does not exist`);
    const ok = opts.parentMayBeOlder ? parent >= 1 && parent <= row.latestMapVersion : row.latestMapVersion === parent;
    if (!ok) throw new StaleMapVersionError(`made against map version ${parent}, but ${id} is on version ${row.latestMapVersion}`);
    const version = row.latestMapVersion + 1;
    await em.getRepository(MapVersionEntity).insert({ deploymentId: id, version, parentVersion: parent, physicalToLogical: map, createdBy: meta.actor, reason: meta.reason });
    await repo.update({ id }, { latestMapVersion: version });
    await appendEvents(em, [{ stream: `deployment:${id}`, type: 'map-version.created', payload: { version, parentVersion: parent, ...origin }, ...meta }]);
    return version;
  }

  /** createMapVersion in a transaction of its own (a map version made outside a policy run's approval). */
  addMapVersion(id: string, parent: number, map: number[][], meta: EventMeta, origin: Record<string, unknown>, opts: { parentMayBeOlder?: boolean } = {}): Promise<number> {
    return this.ds.transaction((em) => this.createMapVersion(em, id, parent, map, meta, origin, opts));
  }

  /**
   * Map versions newest first (without their maps), `before` a version for the next page. The
   * origin of each comes from its `map-version.created` event in the deployment's stream.
   */
  async listMapVersions(deploymentId: string, limit: number, before?: number): Promise<MapVersionInfo[]> {
    const qb = this.ds
      .getRepository(MapVersionEntity)
      .createQueryBuilder('m')
      .select(['m.deploymentId', 'm.version', 'm.parentVersion', 'm.createdBy', 'm.reason', 'm.createdAt'])
      .where('m.deploymentId = :deploymentId', { deploymentId })
      .orderBy('m.version', 'DESC')
      .limit(limit);
    if (before !== undefined) qb.andWhere('m.version < :before', { before });
    const rows = await qb.getMany();
    if (rows.length === 0) return [];
    const origins = await this.mapVersionOrigins(deploymentId, rows[rows.length - 1].version, rows[0].version);
    return rows.map((r) => toMapVersionInfo(r, origins.get(r.version)));
  }

  /** One map version with its map and lineage; null if the deployment or version does not exist. */
  async findMapVersion(deploymentId: string, version: number): Promise<MapVersionRecord | null> {
    const row = await this.ds.getRepository(MapVersionEntity).findOneBy({ deploymentId, version });
    if (!row) return null;
    const origins = await this.mapVersionOrigins(deploymentId, version, version);
    return { ...toMapVersionInfo(row, origins.get(version)), physicalToLogical: row.physicalToLogical };
  }

  private async mapVersionOrigins(deploymentId: string, from: number, to: number): Promise<Map<number, Record<string, unknown>>> {
    const events = await this.ds
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .select(['e.id', 'e.payload'])
      .where('e.stream = :stream AND e.type = :type', { stream: `deployment:${deploymentId}`, type: 'map-version.created' })
      .andWhere(`(e.payload->>'version')::int BETWEEN :from AND :to`, { from, to })
      .getMany();
    const out = new Map<number, Record<string, unknown>>();
    for (const e of events) {
      const { version, parentVersion: _parent, ...origin } = e.payload as { version: number; parentVersion: unknown };
      out.set(Number(version), origin);
    }
    return out;
  }

  /**
   * The chain of custody a map version belongs to: the correlation id of its `map-version.created`
   * event (a run's interval for a proposal, the request's for an import or version 1). A rollout
   * of the version carries it (see intervalCorrelationId in @eplb/contracts). Null if none.
   */
  async mapVersionCorrelationId(deploymentId: string, version: number): Promise<string | null> {
    const rows: { correlation_id: string }[] = await this.ds.query(
      `SELECT correlation_id FROM events WHERE stream = $1 AND type = 'map-version.created' AND (payload->>'version')::int = $2 ORDER BY id LIMIT 1`,
      [`deployment:${deploymentId}`, version],
    );
    return rows[0]?.correlation_id ?? null;
  }

  /** Per layer the row of the version that layer is on (`versions[l]`); null if a version does not exist. */
  async layerRows(deploymentId: string, versions: readonly number[]): Promise<number[][] | null> {
    const maps = new Map<number, number[][] | null>();
    for (const v of new Set(versions)) maps.set(v, await this.mapVersion(deploymentId, v));
    const rows: number[][] = [];
    for (const [l, v] of versions.entries()) {
      const m = maps.get(v);
      if (!m) return null;
      rows.push(m[l]);
    }
    return rows;
  }

  /** Map versions are immutable, so callers may cache what this returns forever. */
  async mapVersion(deploymentId: string, version: number): Promise<number[][] | null> {
    const row = await this.ds.getRepository(MapVersionEntity).findOneBy({ deploymentId, version });
    return row?.physicalToLogical ?? null;
  }
}
