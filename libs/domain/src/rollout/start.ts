import type { LayerPlacement } from '../expert-map/physical-to-logical';

/**
 * Where a new rollout to `toVersion` starts, from the version each layer is committed on. Layers
 * may be on different versions (a failed rollout that held its committed layers): each layer then
 * starts from the rows of its own version, and a rollback returns it there.
 */
export type RolloutStart =
  | { readonly ok: false; readonly why: string }
  | {
      readonly ok: true;
      /** The version most layers come from (for the record; ties go to the lower version). */
      readonly fromVersion: number;
      /** Per layer the version it starts from, given only when the layers are not all on one. */
      readonly fromVersions?: readonly number[];
      /** The map versions whose rows the plan needs: every committed version, then the target. */
      readonly mapVersions: readonly number[];
    };

export function rolloutStart(committed: readonly number[], toVersion: number): RolloutStart {
  if (committed.every((v) => v === toVersion)) return { ok: false, why: `every layer is already on version ${toVersion}` };
  const distinct = [...new Set(committed)];
  const counts = new Map<number, number>();
  for (const v of committed) if (v !== toVersion) counts.set(v, (counts.get(v) ?? 0) + 1);
  const fromVersion = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
  return { ok: true, fromVersion, ...(distinct.length > 1 ? { fromVersions: [...committed] } : {}), mapVersions: [...distinct, toVersion] };
}

/** Per layer the rows of the version it is committed on (`maps` holds every version of `committed`). */
export function committedRows(committed: readonly number[], maps: ReadonlyMap<number, readonly LayerPlacement[]>): LayerPlacement[] {
  return committed.map((v, l) => {
    const rows = maps.get(v);
    if (!rows) throw new Error(`map version ${v} of layer ${l} not given`);
    return rows[l];
  });
}
