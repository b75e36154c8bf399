import { HeatEpisodes } from '../heat/heat';

/**
 * Per episode k in [from, to) of a layer, the imbalance (max / mean rank load) of map `a` and of
 * map `b` (an all-zero episode counts 1). The screens always judge the map in service against
 * another map on the same episodes, so both are read in one pass: each episode's total is summed
 * once for both.
 */
export function episodeImbalancesOfTwo(
  heat: HeatEpisodes,
  layer: number,
  from: number,
  to: number,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  R: number,
  S: number,
): { readonly a: Float64Array; readonly b: Float64Array } {
  const E = heat[0][layer].length;
  const P = R * S;
  const repsA = new Int32Array(E), repsB = new Int32Array(E);
  for (let p = 0; p < P; p++) {
    repsA[a[p]]++;
    repsB[b[p]]++;
  }
  const outA = new Float64Array(to - from), outB = new Float64Array(to - from);
  for (let k = from; k < to; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (total <= 0) {
      outA[k - from] = 1;
      outB[k - from] = 1;
      continue;
    }
    let ma = 0, mb = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let la = 0, lb = 0;
      for (let j = 0; j < S; j++, p++) {
        la += h[a[p]] / repsA[a[p]];
        lb += h[b[p]] / repsB[b[p]];
      }
      if (la > ma) ma = la;
      if (lb > mb) mb = lb;
    }
    outA[k - from] = (ma * R) / total;
    outB[k - from] = (mb * R) / total;
  }
  return { a: outA, b: outB };
}
