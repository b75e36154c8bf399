import { invalid } from '../errors';

/**
 * One layer's placement: slot p (on rank ⌊p/S⌋) holds logical expert row[p].
 * A whole map is one row per layer. Plain arrays at the edges; policies may use typed arrays inside.
 */
export type LayerPlacement = ArrayLike<number>;

/**
 * Checks the replica rule for one layer: P slots, every id in [0, E), every logical expert at
 * least once (a map without some expert cannot serve the tokens routed to it). Returns nothing;
 * throws a DomainError naming the layer and what is wrong.
 */
export function assertLayerPlacement(
  row: unknown,
  numExperts: number,
  numSlots: number,
  field = 'physical_to_logical',
): asserts row is number[] {
  if (!Array.isArray(row) && !ArrayBuffer.isView(row)) throw invalid(field, 'must be an array of logical expert ids');
  const ids = row as ArrayLike<unknown>;
  if (ids.length !== numSlots) throw invalid(field, `has ${ids.length} slots, expected ${numSlots}`);
  const seen = new Uint8Array(numExperts);
  let distinct = 0;
  for (let p = 0; p < ids.length; p++) {
    const e = ids[p];
    if (!Number.isInteger(e) || (e as number) < 0 || (e as number) >= numExperts) {
      throw invalid(`${field}[${p}]`, `must be a logical expert id in [0, ${numExperts}), got ${String(e)}`);
    }
    if (seen[e as number] === 0) {
      seen[e as number] = 1;
      distinct++;
    }
  }
  if (distinct !== numExperts) {
    let missing = 0;
    while (seen[missing] === 1) missing++;
    throw invalid(field, `logical expert ${missing} has no replica (${numExperts - distinct} experts missing)`);
  }
}

/** Checks every layer of a map; see assertLayerPlacement. */
export function assertPhysicalToLogical(
  map: unknown,
  numLayers: number,
  numExperts: number,
  numSlots: number,
  field = 'physical_to_logical',
): asserts map is number[][] {
  if (!Array.isArray(map)) throw invalid(field, 'must be an array with one row per layer');
  if (map.length !== numLayers) throw invalid(field, `has ${map.length} layers, expected ${numLayers}`);
  for (let l = 0; l < numLayers; l++) assertLayerPlacement(map[l], numExperts, numSlots, `${field}[${l}]`);
}
