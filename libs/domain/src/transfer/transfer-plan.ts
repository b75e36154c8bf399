import { invalid } from '../errors';
import { DeploymentShape, nodeOfRank, numSlots } from '../shape/deployment-shape';
import { LayerPlacement, assertPhysicalToLogical } from '../expert-map/physical-to-logical';

/**
 * Transfers: expert weights arriving at a rank that did not hold that expert before — what costs
 * network and device bandwidth. Counted per rank as |experts(new) \ experts(old)|; slot moves inside
 * a rank are local copies.
 */
export function layerTransfers(before: LayerPlacement, after: LayerPlacement, slotsPerRank: number): number {
  let t = 0;
  for (let start = 0; start < after.length; start += slotsPerRank) {
    const had = new Set<number>();
    for (let p = start; p < start + slotsPerRank; p++) had.add(before[p]);
    const arriving = new Set<number>();
    for (let p = start; p < start + slotsPerRank; p++) if (!had.has(after[p])) arriving.add(after[p]);
    t += arriving.size;
  }
  return t;
}

/**
 * Permutes the slots inside each rank of `next` so that an expert the rank already holds in
 * `current` stays in (one of) its current slot(s). The set of experts per rank is unchanged, so
 * imbalance and transfers are too; only local copies are saved.
 */
export function alignToCurrent(current: LayerPlacement, next: LayerPlacement, slotsPerRank: number): number[] {
  if (current.length !== next.length) throw invalid('next', `has ${next.length} slots, current has ${current.length}`);
  const out = Array.from(next);
  const S = slotsPerRank;
  for (let start = 0; start < out.length; start += S) {
    const pending: number[] = [];
    for (let p = start; p < start + S; p++) pending.push(next[p]);
    const placed = new Array<boolean>(S).fill(false);
    // first pass: experts that can keep a slot they hold now
    for (let j = 0; j < S; j++) {
      const e = current[start + j];
      const i = pending.indexOf(e);
      if (i >= 0) {
        out[start + j] = e;
        placed[j] = true;
        pending.splice(i, 1);
      }
    }
    // second pass: the rest, in order, into the remaining slots
    for (let j = 0; j < S; j++) if (!placed[j]) out[start + j] = pending.shift() as number;
  }
  return out;
}

export type Link = 'local' | 'node' | 'remote';

/** One expert weight to be written into a slot, and where to read it from (in the old map). */
export interface ExpertReceive {
  /** Physical slot written. */
  readonly slot: number;
  readonly expert: number;
  /** Rank whose current weights are read; equal to the receiving rank for a local copy. */
  readonly source: number;
  readonly link: Link;
}

export interface LayerTransferPlan {
  readonly layer: number;
  /** receives[r]: what rank r writes during prepare. */
  readonly receives: ExpertReceive[][];
  /** Experts arriving at a rank that did not hold them (local copies are not counted). */
  readonly transfers: number;
  readonly localCopies: number;
  /** transfers × expert bytes (local copies do not cross a link). */
  readonly bytes: number;
}

export interface TransferPlan {
  readonly layers: LayerTransferPlan[];
  readonly transfers: number;
  readonly bytes: number;
}

/**
 * Who sends what for a rollout from `current` to `next`: per layer and receiving rank, each slot
 * whose expert changes reads the expert from the same rank if it holds it (local copy), else
 * from a rank of the same node, else from any rank; among equals, the least busy sender so far.
 * Sources always read the map in force before the commit.
 */
export function planTransfers(
  shape: DeploymentShape,
  current: readonly LayerPlacement[],
  next: readonly LayerPlacement[],
  expertBytes = 0,
): TransferPlan {
  const P = numSlots(shape);
  const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = shape;
  assertPhysicalToLogical(current, L, E, P, 'current');
  assertPhysicalToLogical(next, L, E, P, 'next');
  const layers: LayerTransferPlan[] = [];
  let total = 0;
  for (let l = 0; l < L; l++) {
    const cur = current[l];
    const holders: number[][] = Array.from({ length: E }, () => []);
    for (let r = 0; r < R; r++) {
      for (let p = r * S; p < r * S + S; p++) {
        const h = holders[cur[p]];
        if (h[h.length - 1] !== r) h.push(r);
      }
    }
    const sends = new Int32Array(R);
    const receives: ExpertReceive[][] = Array.from({ length: R }, () => []);
    let transfers = 0;
    let localCopies = 0;
    for (let r = 0; r < R; r++) {
      const node = nodeOfRank(shape, r);
      const fetched = new Map<number, ExpertReceive>();
      for (let p = r * S; p < r * S + S; p++) {
        const e = next[l][p];
        if (e === cur[p]) continue;
        let src = -1;
        let link: Link = 'remote';
        if (holders[e].includes(r)) {
          src = r;
          link = 'local';
          localCopies++;
        } else if (fetched.has(e)) {
          // a second slot of the same expert on this rank: copy what already arrived
          src = r;
          link = 'local';
          localCopies++;
        } else {
          for (const h of holders[e]) {
            const hn = nodeOfRank(shape, h) === node;
            const better =
              src < 0 ||
              (hn && link !== 'node') ||
              (hn === (link === 'node') && sends[h] < sends[src]);
            if (better) {
              src = h;
              link = hn ? 'node' : 'remote';
            }
          }
          sends[src]++;
          transfers++;
        }
        const rec: ExpertReceive = { slot: p, expert: e, source: src, link };
        if (link !== 'local') fetched.set(e, rec);
        receives[r].push(rec);
      }
    }
    total += transfers;
    layers.push({ layer: l, receives, transfers, localCopies, bytes: transfers * expertBytes });
  }
  return { layers, transfers: total, bytes: total * expertBytes };
}

/** The plan that rolls `next` back to `current`. */
export const inverseTransferPlan = (
  shape: DeploymentShape,
  current: readonly LayerPlacement[],
  next: readonly LayerPlacement[],
  expertBytes = 0,
): TransferPlan => planTransfers(shape, next, current, expertBytes);

/**
 * Applies a plan to `current` the way a rollout does: every source reads the old weights, every
 * receiving slot is overwritten at commit. Throws if a source did not hold the expert.
 */
export function applyTransferPlan(shape: DeploymentShape, current: readonly LayerPlacement[], plan: TransferPlan): number[][] {
  const S = shape.slotsPerRank;
  const out = current.map((row) => Array.from(row));
  for (const lp of plan.layers) {
    const cur = current[lp.layer];
    for (const rec of lp.receives.flat()) {
      const srcHolds = Array.from({ length: S }, (_, j) => cur[rec.source * S + j]).includes(rec.expert);
      const arrivedHere = rec.source === Math.floor(rec.slot / S);
      if (!srcHolds && !arrivedHere) {
        throw invalid(`layers[${lp.layer}]`, `rank ${rec.source} does not hold expert ${rec.expert}`);
      }
      out[lp.layer][rec.slot] = rec.expert;
    }
  }
  return out;
}
