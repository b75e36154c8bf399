import { LayerPlacement } from './physical-to-logical';

/** replicas[e] = number of slots of the layer that hold logical expert e. */
export function replicaCounts(row: LayerPlacement, numExperts: number): Int32Array {
  const reps = new Int32Array(numExperts);
  for (let p = 0; p < row.length; p++) reps[row[p]]++;
  return reps;
}

/** logical_to_physical[e] = the slots holding e, in increasing slot order. */
export function logicalToPhysical(row: LayerPlacement, numExperts: number): number[][] {
  const out: number[][] = Array.from({ length: numExperts }, () => []);
  for (let p = 0; p < row.length; p++) out[row[p]].push(p);
  return out;
}

/** How many replicas of one expert share a rank beyond the first, summed over ranks (0 is what vllm-ascend accepts). */
export function duplicatesOnRanks(row: LayerPlacement, slotsPerRank: number): number {
  let dup = 0;
  for (let start = 0; start < row.length; start += slotsPerRank) {
    const seen = new Set<number>();
    for (let p = start; p < start + slotsPerRank; p++) {
      if (seen.has(row[p])) dup++;
      else seen.add(row[p]);
    }
  }
  return dup;
}
