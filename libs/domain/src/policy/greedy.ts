import { IndexHeap } from './index-heap';

/**
 * The classic two-stage EPLB (DeepSeek eplb.py, vLLM's default, /work/shared/tools/baseline.py):
 * replicas by min-max replica load, then LPT packing with a fixed S slots per rank; hierarchical
 * (groups → nodes → ranks, as rebalance_experts_hierarchical) when the groups divide by the nodes.
 * It sees the window sum only and ignores the map in service. Differs from baseline.py in one
 * point: a replica goes to the least-loaded rank that does not hold its expert yet, when one has
 * room (vllm-ascend rejects two replicas of one expert on a rank).
 */

/**
 * replicas[e] for `slots` slots: repeatedly give one more replica to the expert with the largest
 * h/replicas (ties to the lower id), at most `maxReplicas` each while any expert is below the cap.
 * The experts wait in a binary max-heap on (h/replicas, lower id first): O(log E) per extra
 * replica instead of a scan of every expert (the stale screen runs this on every layer).
 */
export function replicateMinMax(h: ArrayLike<number>, slots: number, maxReplicas = Infinity): Int32Array {
  const E = h.length;
  const reps = new Int32Array(E).fill(1);
  const key = new Float64Array(E);
  // larger h/replicas first, then the lower id (what a first-wins scan picks)
  const heap = new IndexHeap(E, key);
  if (maxReplicas > 1) {
    for (let e = 0; e < E; e++) {
      key[e] = h[e];
      heap.push(e);
    }
  }
  for (let extra = slots - E; extra > 0; extra--) {
    let best = -1;
    if (heap.size > 0) {
      best = heap.top();
      reps[best]++;
      key[best] = h[best] / reps[best];
      // at the cap: out of the heap for good (its count only grows)
      if (reps[best] >= maxReplicas) heap.pop();
      else heap.siftTop();
      continue;
    }
    // every expert is at the cap (P > E·cap): lift the cap for the hottest
    for (let e = 0; e < E; e++) if (best < 0 || h[e] / reps[e] > h[best] / reps[best]) best = e;
    reps[best]++;
  }
  return reps;
}

/**
 * LPT: replicas by load h[e]/reps[e] descending (ties: larger id first, like baseline.py), each to
 * the least-loaded rank with a free slot, preferring ranks that do not hold the expert yet.
 * Returns the physical_to_logical row (rank r's slots are [r·S, (r+1)·S)).
 */
export function packLpt(h: ArrayLike<number>, reps: Int32Array, R: number, S: number): Int32Array {
  const E = h.length;
  let n = 0;
  for (let e = 0; e < E; e++) n += reps[e];
  const size = new Float64Array(E);
  for (let e = 0; e < E; e++) size[e] = h[e] / reps[e];
  // experts by replica load, larger id first on ties; an expert's replicas follow one another
  const order = bySizeDescending(size);
  const items = new Int32Array(n);
  for (let j = 0, i = 0; j < E; j++) for (let c = 0; c < reps[order[j]]; c++) items[i++] = order[j];
  const load = new Float64Array(R);
  const count = new Int32Array(R);
  const row = new Int32Array(R * S);
  // ranks with a free slot by (load, rank): the least-loaded rank, lowest index first on ties, as
  // a scan would find it, in O(log R) per replica
  const heap = new IndexHeap(R, load, true);
  for (let r = 0; r < R && S > 0; r++) heap.push(r);
  const aside = new Int32Array(R);
  for (let i = 0; i < n; i++) {
    const e = items[i];
    // the least-loaded rank that does not hold e; failing that, the least-loaded one (a duplicate)
    let na = 0, r = -1;
    while (heap.size > 0) {
      const q = heap.pop();
      if (countOn(row, q * S, q * S + count[q], e) === 0) {
        r = q;
        break;
      }
      aside[na++] = q;
    }
    if (r < 0) r = aside[0];
    for (let j = 0; j < na; j++) if (aside[j] !== r) heap.push(aside[j]);
    row[r * S + count[r]++] = e;
    load[r] += size[e];
    if (count[r] < S) heap.push(r);
  }
  return repairDuplicates(row, S);
}

/**
 * Ids 0..n−1 by size, largest first, ties to the larger id. A merge sort over typed arrays with
 * the order written out: Array.prototype.sort would call a comparison closure per pair, on every
 * layer the stale screen plans. The order is total, so any correct sort gives this permutation.
 */
export function bySizeDescending(size: Float64Array): Int32Array {
  const n = size.length;
  let a = new Int32Array(n), b = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const x = a[i], y = a[j];
        const sx = size[x], sy = size[y];
        // y goes first: a larger size, or the same size and a larger id. Every comparison is
        // evaluated (| and &, not || and &&): ties are rare, and a comparison the compiled code
        // has never seen run throws it back to the interpreter the first time one comes
        if (((sy > sx ? 1 : 0) | ((sy === sx ? 1 : 0) & (y > x ? 1 : 0))) !== 0) {
          b[k++] = y;
          j++;
        } else {
          b[k++] = x;
          i++;
        }
      }
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}

/**
 * Removes two-replicas-of-one-expert-on-a-rank where a swap with another rank can: the duplicate
 * is exchanged with a slot of a rank that lacks the expert and whose expert the first rank lacks.
 * Rare (ties in the packing order); loads move a little, validity never changes.
 */
export function repairDuplicates(row: Int32Array, S: number): Int32Array {
  for (let p = 0; p < row.length; p++) {
    const r0 = p - (p % S);
    const e = row[p];
    if (countOn(row, r0, r0 + S, e) < 2) continue;
    for (let q = 0; q < row.length; q++) {
      const q0 = q - (q % S);
      const f = row[q];
      if (q0 === r0 || countOn(row, q0, q0 + S, e) > 0 || countOn(row, r0, r0 + S, f) > 0) continue;
      row[p] = f;
      row[q] = e;
      break;
    }
  }
  return row;
}

/**
 * Replicas of e in row[from, to) — one rank's slots. A rank holds a handful of slots, so a scan
 * costs less than an R·E table allocated per layer.
 */
function countOn(row: ArrayLike<number>, from: number, to: number, e: number): number {
  let n = 0;
  for (let p = from; p < to; p++) if (row[p] === e) n++;
  return n;
}

/** Flat two-stage greedy on one layer's window heat. */
export function greedyLayer(h: ArrayLike<number>, R: number, S: number): Int32Array {
  return packLpt(h, replicateMinMax(h, R * S, R), R, S);
}

/**
 * Hierarchical greedy: groups of E/G experts packed onto nodes (G/N groups per node, by summed
 * heat), then per node the two-stage greedy over its R/N ranks.
 */
export function hierarchicalLayer(h: ArrayLike<number>, R: number, S: number, N: number, G: number): Int32Array {
  const E = h.length;
  const gsize = E / G;
  const perNode = G / N;
  const rpn = R / N;
  const gw = new Float64Array(G);
  for (let e = 0; e < E; e++) gw[(e / gsize) | 0] += h[e];
  const order = Array.from({ length: G }, (_, g) => g).sort((a, b) => gw[b] - gw[a] || a - b);
  const nodeLoad = new Float64Array(N);
  const nodeGroups: number[][] = Array.from({ length: N }, () => []);
  for (const g of order) {
    let best = -1;
    for (let n = 0; n < N; n++) {
      if (nodeGroups[n].length >= perNode) continue;
      if (best < 0 || nodeLoad[n] < nodeLoad[best]) best = n;
    }
    nodeGroups[best].push(g);
    nodeLoad[best] += gw[g];
  }
  const row = new Int32Array(R * S);
  for (let n = 0; n < N; n++) {
    const experts: number[] = [];
    for (const g of nodeGroups[n].sort((a, b) => a - b)) for (let i = 0; i < gsize; i++) experts.push(g * gsize + i);
    const local = Float64Array.from(experts, (e) => h[e]);
    const sub = packLpt(local, replicateMinMax(local, rpn * S, rpn), rpn, S);
    for (let i = 0; i < sub.length; i++) row[n * rpn * S + i] = experts[sub[i]];
  }
  return row;
}

/** Whether the hierarchical form applies: G groups given, G divisible by N, and more than one node. */
export function hierarchicalApplies(E: number, R: number, S: number, N: number, G?: number): G is number {
  return G !== undefined && G > 1 && N > 1 && G % N === 0 && E % G === 0 && R % N === 0 && (R / N) * S >= (E / N);
}
