import { HeatEpisodes } from '../heat/heat';

/**
 * out[k − from] = imbalance (max / mean rank load) of `row` on episode k of a layer, for k in
 * [from, to); an all-zero episode counts 1.
 */
export function episodeImbalances(heat: HeatEpisodes, layer: number, from: number, to: number, row: ArrayLike<number>, R: number, S: number): Float64Array {
  const E = heat[0][layer].length;
  const P = R * S;
  const reps = new Int32Array(E);
  for (let p = 0; p < P; p++) reps[row[p]]++;
  const out = new Float64Array(to - from);
  for (let k = from; k < to; k++) {
    const h = heat[k][layer];
    let total = 0;
    for (let e = 0; e < E; e++) total += h[e];
    if (total <= 0) {
      out[k - from] = 1;
      continue;
    }
    let m = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let load = 0;
      for (let j = 0; j < S; j++, p++) load += h[row[p]] / reps[row[p]];
      if (load > m) m = load;
    }
    out[k - from] = (m * R) / total;
  }
  return out;
}
