import { DataSource } from 'typeorm';
import { DeploymentEntity } from '../entities/deployment.entity';
import { EventEntity } from '../entities/event.entity';

type Row = Partial<DeploymentEntity> & { id: string };

/** What each `deployment:*` event does to the deployments read model. */
function apply(rows: Map<string, Row>, e: EventEntity): void {
  const id = e.stream.slice('deployment:'.length);
  const p = e.payload as Record<string, unknown>;
  const row = rows.get(id) ?? { id };
  switch (e.type) {
    case 'deployment.created': {
      const s = (p.settings ?? {}) as Record<string, unknown>;
      Object.assign(row, {
        numLayers: p.numLayers, numExperts: p.numExperts, numRanks: p.numRanks, slotsPerRank: p.slotsPerRank, numNodes: p.numNodes,
        numGroups: p.numGroups ?? null, episodeSteps: p.episodeSteps, intervalSteps: p.intervalSteps, latenessSteps: p.latenessSteps,
        settingsVersion: 1, latestMapVersion: 1, createdAt: e.occurredAt, modeSince: e.occurredAt,
      });
      applySettings(row, s);
      break;
    }
    case 'deployment.settings-updated':
      if (p.mode !== undefined && p.mode !== row.mode) row.modeSince = e.occurredAt;
      applySettings(row, p);
      row.settingsVersion = p.settingsVersion as number;
      break;
    case 'map-version.created':
      row.latestMapVersion = Math.max(row.latestMapVersion ?? 0, p.version as number);
      break;
    default:
      return; // proposals, runs: other read models
  }
  row.updatedAt = e.occurredAt;
  rows.set(id, row);
}

function applySettings(row: Row, s: Record<string, unknown>): void {
  const map: [string, keyof DeploymentEntity][] = [
    ['policy', 'policy'], ['cadenceSeconds', 'cadenceSeconds'], ['threshold', 'imbalanceThreshold'], ['minGain', 'minGain'],
    ['maxTransfers', 'maxTransfers'], ['phase', 'balancePhase'], ['mode', 'mode'],
    ['rolloutSteps', 'rolloutSteps'], ['rolloutOnFailure', 'rolloutOnFailure'], ['maxAutoRolloutsPerHour', 'maxAutoRolloutsPerHour'],
  ];
  for (const [from, to] of map) if (s[from] !== undefined) (row as Record<string, unknown>)[to] = s[from];
  if (s.expertBytes !== undefined) row.expertBytes = String(s.expertBytes);
  if (s.rolloutBytesPerSecond !== undefined) row.rolloutBytesPerSecond = s.rolloutBytesPerSecond === null ? null : String(s.rolloutBytesPerSecond);
}

/**
 * Rebuilds the deployments read model from the event store: every column the API serves comes
 * back from the events alone (the events are the record; the table is a cache of them). Returns
 * the deployments rewritten.
 */
export async function rebuildDeployments(ds: DataSource, only?: string): Promise<number> {
  return ds.transaction(async (em) => {
    const events = await em
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .where(only ? 'e.stream = :s' : "e.stream LIKE 'deployment:%'", { s: `deployment:${only}` })
      .orderBy('e.id', 'ASC')
      .getMany();
    const rows = new Map<string, Row>();
    for (const e of events) apply(rows, e);
    const repo = em.getRepository(DeploymentEntity);
    for (const row of rows.values()) await repo.save(repo.create(row));
    return rows.size;
  });
}
