/** One rank's share of the routed tokens under a map, and the experts that put most of it there. */
export interface RankLoad {
  readonly rank: number;
  /** Tokens the rank served (an expert's tokens split evenly over its replicas). */
  readonly load: number;
  /** load / mean load over ranks: 1 is balanced, the maximum is the layer's imbalance. */
  readonly ratio: number;
  /** The rank's biggest contributors, largest first. */
  readonly top: readonly { readonly layer: number; readonly expert: number; readonly load: number; readonly replicas: number }[];
}

export interface RankLoads {
  readonly ranks: readonly RankLoad[];
  /** max / mean rank load: the figure the API's imbalance trend and the policies use. */
  readonly imbalance: number;
}

/**
 * Per rank, the tokens it served over the range under the map in service: each logical expert's
 * count (counts[layer][expert]) spread evenly over the slots holding it (physicalToLogical[layer]
 * [slot], rank = slot / slotsPerRank), over `layers`. Why a rank runs hot is its top contributors:
 * a hot expert with one replica, or several warm ones that landed together.
 */
export function rankLoads(counts: readonly (readonly number[])[], physicalToLogical: readonly (readonly number[])[], slotsPerRank: number, layers: readonly number[], topPerRank = 3): RankLoads {
  const R = Math.floor((physicalToLogical[0]?.length ?? 0) / slotsPerRank);
  const load = new Float64Array(R);
  const parts: { layer: number; expert: number; load: number; replicas: number }[][] = Array.from({ length: R }, () => []);
  for (const layer of layers) {
    const row = physicalToLogical[layer];
    const c = counts[layer];
    if (!row || !c) continue;
    const replicas = new Map<number, number>();
    for (const e of row) replicas.set(e, (replicas.get(e) ?? 0) + 1);
    for (let slot = 0; slot < row.length; slot++) {
      const expert = row[slot];
      const n = replicas.get(expert)!;
      const share = (c[expert] ?? 0) / n;
      const rank = Math.floor(slot / slotsPerRank);
      load[rank] += share;
      if (share > 0) parts[rank].push({ layer, expert, load: share, replicas: n });
    }
  }
  const mean = R ? load.reduce((a, b) => a + b, 0) / R : 0;
  const ranks = Array.from({ length: R }, (_, rank) => ({
    rank,
    load: load[rank],
    ratio: mean > 0 ? load[rank] / mean : 0,
    top: parts[rank].sort((a, b) => b.load - a.load || a.layer - b.layer || a.expert - b.expert).slice(0, topPerRank),
  }));
  return { ranks, imbalance: mean > 0 ? Math.max(...load) / mean : 0 };
}
