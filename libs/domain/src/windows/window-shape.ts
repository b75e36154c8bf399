/**
 * What the episode assembler needs to know about a deployment: its shape and window lengths.
 * `latenessSteps` is how far behind the newest step an event may arrive and still be counted in
 * its open episode (the watermark is newest step − latenessSteps).
 */
export interface WindowShape {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly episodeSteps: number;
  readonly intervalSteps: number;
  readonly latenessSteps: number;
}

export const episodeOf = (w: WindowShape, step: number): number => Math.floor(step / w.episodeSteps);
export const intervalOfEpisode = (w: WindowShape, episode: number): number => Math.floor((episode * w.episodeSteps) / w.intervalSteps);

/** Max rank load / mean rank load of one layer, from measured per-slot loads (1 when idle). */
export function measuredImbalance(slotLoad: ArrayLike<number>, offset: number, numRanks: number, slotsPerRank: number): number {
  let max = 0;
  let total = 0;
  for (let r = 0; r < numRanks; r++) {
    let rank = 0;
    const base = offset + r * slotsPerRank;
    for (let s = 0; s < slotsPerRank; s++) rank += slotLoad[base + s];
    total += rank;
    if (rank > max) max = rank;
  }
  return total > 0 ? (max * numRanks) / total : 1;
}
