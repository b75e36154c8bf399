import { invalid } from '../errors';
import { LayerPlacement } from '../expert-map/physical-to-logical';

/**
 * One layer's map prepared for splitting load: for each slot, its expert, how many replicas that
 * expert has, and which replica (0-based, in slot order) the slot is.
 */
export interface CompiledLayerMap {
  readonly physicalToLogical: Int32Array;
  readonly replicas: Int32Array;
  readonly replicaIndex: Int32Array;
}

export function compileLayerMap(row: LayerPlacement, numExperts: number): CompiledLayerMap {
  const P = row.length;
  const physicalToLogical = new Int32Array(P);
  const replicas = new Int32Array(numExperts);
  const replicaIndex = new Int32Array(P);
  for (let p = 0; p < P; p++) {
    const e = row[p];
    if (!Number.isInteger(e) || e < 0 || e >= numExperts) throw invalid(`physical_to_logical[${p}]`, `must be a logical expert id in [0, ${numExperts}), got ${e}`);
    physicalToLogical[p] = e;
    replicaIndex[p] = replicas[e]++;
  }
  return { physicalToLogical, replicas, replicaIndex };
}

/**
 * Splits each logical expert's count among its replicas as engines do: evenly, the remainder one
 * each to the first replicas in slot order. `out[p]` = picks routed to slot p; the slots of an
 * expert sum to its count exactly (experts without a replica lose their count, which a valid map
 * never allows).
 *
 * `logicalCounts` is read from `offset` (E entries), so one layer of an L×E array can be passed
 * without copying.
 */
export function slotLoads(
  logicalCounts: ArrayLike<number>,
  map: LayerPlacement | CompiledLayerMap,
  out?: Int32Array,
  offset = 0,
): Int32Array {
  const compiled = isCompiled(map) ? map : compileLayerMap(map, maxId(map) + 1);
  const { physicalToLogical, replicas, replicaIndex } = compiled;
  const P = physicalToLogical.length;
  const result = out ?? new Int32Array(P);
  if (result.length < P) throw invalid('out', `must have at least ${P} entries`);
  for (let p = 0; p < P; p++) {
    const e = physicalToLogical[p];
    const c = logicalCounts[offset + e];
    const r = replicas[e];
    const q = Math.floor(c / r);
    result[p] = q + (replicaIndex[p] < c - q * r ? 1 : 0);
  }
  return result;
}

/** The S slots of `rank` (slot p is on rank ⌊p / S⌋), as a view without copying. */
export function rankSlice(slots: Int32Array, rank: number, slotsPerRank: number): Int32Array {
  return slots.subarray(rank * slotsPerRank, (rank + 1) * slotsPerRank);
}

/** Sum of each rank's slots. */
export function rankTotals(slots: ArrayLike<number>, slotsPerRank: number, out?: Float64Array): Float64Array {
  const R = Math.floor(slots.length / slotsPerRank);
  const totals = out ?? new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let k = r * slotsPerRank; k < (r + 1) * slotsPerRank; k++) s += slots[k];
    totals[r] = s;
  }
  return totals;
}

/** max / mean of the ranks' totals (docs/design.md, "Imbalance"); 1 when there is no load. */
export function peakToAverage(rankLoads: ArrayLike<number>): number {
  let max = 0;
  let sum = 0;
  for (let r = 0; r < rankLoads.length; r++) {
    sum += rankLoads[r];
    if (rankLoads[r] > max) max = rankLoads[r];
  }
  return sum > 0 ? (max * rankLoads.length) / sum : 1;
}

function isCompiled(m: LayerPlacement | CompiledLayerMap): m is CompiledLayerMap {
  return (m as CompiledLayerMap).replicaIndex !== undefined;
}

function maxId(row: LayerPlacement): number {
  let m = -1;
  for (let p = 0; p < row.length; p++) if (row[p] > m) m = row[p];
  return m;
}
