import { DeploymentShape } from '../shape/deployment-shape';
import { HeatEpisodes } from '../heat/heat';
import { getPolicy } from '../policy/registry';
import { PolicyInput } from '../policy/types';

/** A policy input that may name ranks to leave out (the placement work adds it to PolicyInput). */
type WithExcluded = PolicyInput & { readonly excludeRanks?: readonly number[] };

/**
 * A map that serves without `lost` ranks: the deployment's policy asked to leave them out
 * (`excludeRanks`), then — whatever the policy did with that — every logical expert given a
 * replica on a live rank: an expert held only by lost ranks takes over the live slot whose expert
 * has the most live replicas (the least heat per replica among those with two or more). The lost
 * ranks' slots keep what they hold (the engine routes nothing there; the replica rule holds).
 */
export function mapAroundLostRanks(shape: DeploymentShape, current: readonly (readonly number[])[], heat: HeatEpisodes, lost: readonly number[], policy: string): number[][] {
  const S = shape.slotsPerRank;
  const dead = new Set(lost);
  let map: number[][];
  try {
    const input: WithExcluded = { shape, heat, current: current.map((r) => [...r]), options: { threshold: 0, minGain: 0 }, excludeRanks: lost };
    map = getPolicy(policy)(input).physicalToLogical;
  } catch {
    map = current.map((r) => [...r]);
  }
  const layerHeat = (l: number, e: number) => heat.reduce((a, ep) => a + (ep[l]?.[e] ?? 0), 0);
  return map.map((row, l) => coverOnLiveRanks(row, l, shape.numExperts, S, dead, (e) => layerHeat(l, e)));
}

function coverOnLiveRanks(row: readonly number[], layer: number, E: number, S: number, dead: ReadonlySet<number>, heatOf: (e: number) => number): number[] {
  const out = [...row];
  const live = (p: number) => !dead.has(Math.floor(p / S));
  const liveReplicas = () => {
    const n = new Array<number>(E).fill(0);
    out.forEach((e, p) => live(p) && n[e]++);
    return n;
  };
  for (let e = 0; e < E; e++) {
    const n = liveReplicas();
    if (n[e] > 0) continue;
    let best = -1;
    for (let p = 0; p < out.length; p++) {
      if (!live(p) || n[out[p]] < 2) continue;
      // on a rank that does not hold e yet, the slot whose expert loses least (heat per replica)
      const rank = Math.floor(p / S);
      if (out.slice(rank * S, rank * S + S).includes(e)) continue;
      if (best < 0 || n[out[p]] > n[out[best]] || (n[out[p]] === n[out[best]] && heatOf(out[p]) / n[out[p]] < heatOf(out[best]) / n[out[best]])) best = p;
    }
    if (best < 0) throw new Error(`layer ${layer}: the live ranks have too few slots to hold every expert without ranks ${[...dead].join(', ')}`);
    out[best] = e;
  }
  return out;
}
