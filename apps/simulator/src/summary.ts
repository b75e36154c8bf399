import { ClusterStep, peakToAverage } from '@eplb/domain';

/**
 * The imbalance of the generated load as the engine would see it, under the map in force at each
 * step: per layer on the load summed over the run (what an interval-average balancer sees), and
 * the mean over steps of each step's imbalance (what the step time pays).
 */
export class LoadSummary {
  private readonly rankSum: Float64Array;
  private readonly stepRank: Float64Array;
  private stepImbalanceSum = 0;
  private steps = 0;

  constructor(
    private readonly numLayers: number,
    private readonly numRanks: number,
    private readonly slotsPerRank: number,
  ) {
    this.rankSum = new Float64Array(numLayers * numRanks);
    this.stepRank = new Float64Array(numRanks);
  }

  add(step: ClusterStep): void {
    const { numLayers: L, numRanks: R, slotsPerRank: S } = this;
    const P = R * S;
    let sum = 0;
    for (let l = 0; l < L; l++) {
      for (let r = 0; r < R; r++) {
        let x = 0;
        const base = l * P + r * S;
        for (let k = 0; k < S; k++) x += step.slots[base + k];
        this.stepRank[r] = x;
        this.rankSum[l * R + r] += x;
      }
      sum += peakToAverage(this.stepRank);
    }
    this.stepImbalanceSum += sum / L;
    this.steps++;
  }

  result(): { perLayer: number[]; mean: number; max: number; meanPerStep: number } {
    const { numLayers: L, numRanks: R } = this;
    const perLayer = Array.from({ length: L }, (_, l) => round(peakToAverage(this.rankSum.subarray(l * R, (l + 1) * R))));
    return {
      perLayer,
      mean: round(perLayer.reduce((a, b) => a + b, 0) / L),
      max: round(Math.max(...perLayer)),
      meanPerStep: round(this.steps ? this.stepImbalanceSum / this.steps : 1),
    };
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
