import { invalid } from '../errors';

/**
 * Heat as the policies see it: episodes × layers × logical experts, episodes kept apart so a
 * policy sees how the load moves over time (docs/design.md, "Steps, heat, episodes, intervals").
 * heat[k][l][e] is the logical heat of expert e in layer l during episode k.
 */
export type HeatEpisodes = readonly (readonly Float64Array[])[];

/** Checks a plain `heat[episode][layer][expert]` array and copies it into Float64Arrays; errors name the cell. */
export function toHeatEpisodes(raw: unknown, field = 'heat', numLayers?: number, numExperts?: number): HeatEpisodes {
  if (!Array.isArray(raw) || raw.length === 0) throw invalid(field, 'must be a non-empty array of episodes');
  let L = numLayers;
  let E = numExperts;
  return raw.map((ep: unknown, k: number) => {
    if (!Array.isArray(ep) || ep.length === 0) throw invalid(`${field}[${k}]`, 'must be a non-empty array of layers');
    if (L === undefined) L = ep.length;
    if (ep.length !== L) throw invalid(`${field}[${k}]`, `has ${ep.length} layers, expected ${L}`);
    const layers: Float64Array[] = [];
    // one buffer per episode, a view per layer: thousands of small buffers cost more to allocate
    // and collect than one large one
    let buf: Float64Array | null = null;
    for (let l = 0; l < ep.length; l++) {
      const layer: unknown = ep[l];
      if (!Array.isArray(layer) || layer.length === 0) throw invalid(`${field}[${k}][${l}]`, 'must be a non-empty array of expert heats');
      if (E === undefined) E = layer.length;
      if (layer.length !== E) throw invalid(`${field}[${k}][${l}]`, `has ${layer.length} experts, expected ${E}`);
      buf ??= new Float64Array(ep.length * E);
      const out = buf.subarray(l * E, (l + 1) * E);
      for (let e = 0; e < E; e++) {
        const v = layer[e];
        // a number that is not ≥ 0 (negative or NaN) or not finite
        if (typeof v !== 'number' || !(v >= 0) || v === Infinity) {
          throw invalid(`${field}[${k}][${l}][${e}]`, `must be a finite number ≥ 0, got ${JSON.stringify(v) ?? String(v)}`);
        }
        out[e] = v;
      }
      layers.push(out);
    }
    return layers;
  });
}

/** Sum of layer l's heat over the episodes, each multiplied by weights[k] (1 when absent). */
export function windowSum(heat: HeatEpisodes, layer: number, weights?: ArrayLike<number>): Float64Array {
  const E = heat[0][layer].length;
  const out = new Float64Array(E);
  for (let k = 0; k < heat.length; k++) {
    const h = heat[k][layer];
    const w = weights ? weights[k] : 1;
    for (let e = 0; e < E; e++) out[e] += w * h[e];
  }
  return out;
}

/**
 * Episode weights summing to 1, the newest (last) episode heaviest: weight ∝ 2^(−age/halfLife).
 * halfLife = Infinity gives equal weights.
 */
export function decayWeights(numEpisodes: number, halfLife: number): Float64Array {
  const w = new Float64Array(numEpisodes);
  let sum = 0;
  for (let k = 0; k < numEpisodes; k++) {
    w[k] = Number.isFinite(halfLife) ? Math.pow(2, -(numEpisodes - 1 - k) / halfLife) : 1;
    sum += w[k];
  }
  for (let k = 0; k < numEpisodes; k++) w[k] /= sum;
  return w;
}
