/**
 * The greedy policy of libs/domain/src/policy/greedy.ts and policies.ts (greedyPolicy), with the
 * registry's per-layer work for it (alignToCurrent, the window and per-episode imbalances,
 * layerTransfers), in AssemblyScript: the same arithmetic in the same order, so the plan file is
 * byte for byte `eplb plan --policy greedy`'s. Compiled ahead of time to WebAssembly, it runs at
 * full speed from its first call: no interpreter phase while a JIT optimises it.
 *
 * Memory: the stub runtime (a bump allocator, nothing freed); `setup` resets it, so one plan
 * holds at most its own buffers and the scratch of its layers.
 */

import { bytes, heatE, heatK, heatL, newBytes, readHeat, scanShape } from './heat-reader';

export { newBytes };

/** Heat, [episode][layer][expert]. */
let heat: Float64Array = new Float64Array(0);
/** The map in service, [layer][slot]; empty when the file has none. */
let current: Int32Array = new Int32Array(0);
/** The plan, [layer][slot]. */
let plan: Int32Array = new Int32Array(0);
/** Per layer: imbalance before, after; episode imbalance before, after; transfers; redeployed. */
let report: Float64Array = new Float64Array(0);
export const REPORT_FIELDS = 6;

/** Drops every earlier plan's memory (before a plan, or before newBytes when the module reads the heat). */
export function reset(): void {
  __reset();
}

/** Makes room for a plan of K episodes × L layers × E experts, P slots. */
export function setup(K: i32, L: i32, E: i32, P: i32, hasCurrent: bool): void {
  heat = new Float64Array(K * L * E);
  current = new Int32Array(hasCurrent ? L * P : 0);
  plan = new Int32Array(L * P);
  report = new Float64Array(L * REPORT_FIELDS);
}

/**
 * The heat array at byte `from` of the file in newBytes' buffer: its shape (scanHeatShape, then
 * heatShape(0..2)) and, after setup, its numbers (fillHeat); −1 where it is not the plain form of
 * whole counts (heat-reader.ts).
 */
export function scanHeatShape(from: i32): i32 {
  return scanShape(from);
}
export function heatShape(which: i32): i32 {
  return which == 0 ? heatK : which == 1 ? heatL : heatE;
}
export function fillHeat(from: i32): i32 {
  return readHeat(from, heat);
}
export function bytesLength(): i32 {
  return bytes.length;
}

export function heatPtr(): usize {
  return heat.dataStart;
}
export function currentPtr(): usize {
  return current.dataStart;
}
export function planPtr(): usize {
  return plan.dataStart;
}
export function reportPtr(): usize {
  return report.dataStart;
}

/**
 * A binary heap of ids ordered by key (largest first, or smallest with smallestFirst), ties to
 * the lower id: index-heap.ts.
 */
class IndexHeap {
  ids: Int32Array;
  n: i32 = 0;
  key: Float64Array;
  smallestFirst: bool;

  constructor(capacity: i32, key: Float64Array, smallestFirst: bool) {
    this.ids = new Int32Array(capacity);
    this.key = key;
    this.smallestFirst = smallestFirst;
  }

  @inline before(a: i32, b: i32): bool {
    const ka = unchecked(this.key[a]), kb = unchecked(this.key[b]);
    return (this.smallestFirst ? ka < kb : ka > kb) || (ka == kb && a < b);
  }

  top(): i32 {
    return unchecked(this.ids[0]);
  }

  push(id: i32): void {
    const ids = this.ids;
    let i = this.n++;
    while (i > 0) {
      const j = (i - 1) >> 1;
      if (!this.before(id, unchecked(ids[j]))) break;
      unchecked((ids[i] = ids[j]));
      i = j;
    }
    unchecked((ids[i] = id));
  }

  pop(): i32 {
    const top = unchecked(this.ids[0]);
    unchecked((this.ids[0] = this.ids[--this.n]));
    if (this.n > 0) this.siftTop();
    return top;
  }

  siftTop(): void {
    const ids = this.ids;
    const x = unchecked(ids[0]);
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.n) break;
      if (c + 1 < this.n && this.before(unchecked(ids[c + 1]), unchecked(ids[c]))) c++;
      if (!this.before(unchecked(ids[c]), x)) break;
      unchecked((ids[i] = ids[c]));
      i = c;
    }
    unchecked((ids[i] = x));
  }
}

/** replicas[e] for `slots` slots, at most maxReplicas each while any expert is below the cap (replicateMinMax). */
function replicateMinMax(h: Float64Array, slots: i32, maxReplicas: i32): Int32Array {
  const E = h.length;
  const reps = new Int32Array(E).fill(1);
  const key = new Float64Array(E);
  const heap = new IndexHeap(E, key, false);
  if (maxReplicas > 1) {
    for (let e = 0; e < E; e++) {
      unchecked((key[e] = h[e]));
      heap.push(e);
    }
  }
  for (let extra = slots - E; extra > 0; extra--) {
    let best = -1;
    if (heap.n > 0) {
      best = heap.top();
      unchecked(reps[best]++);
      unchecked((key[best] = h[best] / <f64>reps[best]));
      if (unchecked(reps[best]) >= maxReplicas) heap.pop();
      else heap.siftTop();
      continue;
    }
    for (let e = 0; e < E; e++) {
      if (best < 0 || unchecked(h[e]) / <f64>unchecked(reps[e]) > unchecked(h[best]) / <f64>unchecked(reps[best])) best = e;
    }
    unchecked(reps[best]++);
  }
  return reps;
}

/** Ids by size, largest first, ties to the larger id (bySizeDescending: a bottom-up merge sort). */
function bySizeDescending(size: Float64Array): Int32Array {
  const n = size.length;
  let a = new Int32Array(n), b = new Int32Array(n);
  for (let i = 0; i < n; i++) unchecked((a[i] = i));
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = min(lo + width, n), hi = min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const x = unchecked(a[i]), y = unchecked(a[j]);
        const sx = unchecked(size[x]), sy = unchecked(size[y]);
        if (sy > sx || (sy == sx && y > x)) {
          unchecked((b[k++] = y));
          j++;
        } else {
          unchecked((b[k++] = x));
          i++;
        }
      }
      while (i < mid) unchecked((b[k++] = a[i++]));
      while (j < hi) unchecked((b[k++] = a[j++]));
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}

/** Replicas of e in row[from, to). */
@inline function countOn(row: Int32Array, from: i32, to: i32, e: i32): i32 {
  let n = 0;
  for (let p = from; p < to; p++) if (unchecked(row[p]) == e) n++;
  return n;
}

/** Two replicas of one expert on a rank swapped away where another rank can take one (repairDuplicates). */
function repairDuplicates(row: Int32Array, S: i32): Int32Array {
  for (let p = 0; p < row.length; p++) {
    const r0 = p - (p % S);
    const e = unchecked(row[p]);
    if (countOn(row, r0, r0 + S, e) < 2) continue;
    for (let q = 0; q < row.length; q++) {
      const q0 = q - (q % S);
      const f = unchecked(row[q]);
      if (q0 == r0 || countOn(row, q0, q0 + S, e) > 0 || countOn(row, r0, r0 + S, f) > 0) continue;
      unchecked((row[p] = f));
      unchecked((row[q] = e));
      break;
    }
  }
  return row;
}

/** LPT packing onto R ranks of S slots, a rank not holding the expert first (packLpt). */
function packLpt(h: Float64Array, reps: Int32Array, R: i32, S: i32): Int32Array {
  const E = h.length;
  let n = 0;
  for (let e = 0; e < E; e++) n += unchecked(reps[e]);
  const size = new Float64Array(E);
  for (let e = 0; e < E; e++) unchecked((size[e] = h[e] / <f64>reps[e]));
  const order = bySizeDescending(size);
  const items = new Int32Array(n);
  for (let j = 0, i = 0; j < E; j++) {
    const o = unchecked(order[j]);
    for (let c = 0; c < unchecked(reps[o]); c++) unchecked((items[i++] = o));
  }
  const load = new Float64Array(R);
  const count = new Int32Array(R);
  const row = new Int32Array(R * S);
  const heap = new IndexHeap(R, load, true);
  for (let r = 0; r < R && S > 0; r++) heap.push(r);
  const aside = new Int32Array(R);
  for (let i = 0; i < n; i++) {
    const e = unchecked(items[i]);
    let na = 0, r = -1;
    while (heap.n > 0) {
      const q = heap.pop();
      if (countOn(row, q * S, q * S + unchecked(count[q]), e) == 0) {
        r = q;
        break;
      }
      unchecked((aside[na++] = q));
    }
    if (r < 0) r = unchecked(aside[0]);
    for (let j = 0; j < na; j++) if (unchecked(aside[j]) != r) heap.push(unchecked(aside[j]));
    const c = unchecked(count[r]);
    unchecked((row[r * S + c] = e));
    unchecked((count[r] = c + 1));
    unchecked((load[r] += size[e]));
    if (c + 1 < S) heap.push(r);
  }
  return repairDuplicates(row, S);
}

function greedyLayer(h: Float64Array, R: i32, S: i32): Int32Array {
  return packLpt(h, replicateMinMax(h, R * S, R), R, S);
}

/** Groups onto nodes by summed heat, then the two-stage greedy per node (hierarchicalLayer). */
function hierarchicalLayer(h: Float64Array, R: i32, S: i32, N: i32, G: i32): Int32Array {
  const E = h.length;
  const gsize = E / G;
  const perNode = G / N;
  const rpn = R / N;
  const gw = new Float64Array(G);
  for (let e = 0; e < E; e++) unchecked((gw[e / gsize] += h[e]));
  // groups by summed heat, larger first, then the lower id (an insertion sort: G is small)
  const order = new Int32Array(G);
  for (let g = 0; g < G; g++) {
    let i = g;
    while (i > 0 && groupBefore(gw, g, unchecked(order[i - 1]))) {
      unchecked((order[i] = order[i - 1]));
      i--;
    }
    unchecked((order[i] = g));
  }
  const nodeLoad = new Float64Array(N);
  // nodeGroups[n·perNode + i]: node n's i-th group, in the order they came
  const nodeGroups = new Int32Array(N * perNode);
  const taken = new Int32Array(N);
  for (let k = 0; k < G; k++) {
    const g = unchecked(order[k]);
    let best = -1;
    for (let n = 0; n < N; n++) {
      if (unchecked(taken[n]) >= perNode) continue;
      if (best < 0 || unchecked(nodeLoad[n]) < unchecked(nodeLoad[best])) best = n;
    }
    unchecked((nodeGroups[best * perNode + taken[best]] = g));
    unchecked(taken[best]++);
    unchecked((nodeLoad[best] += gw[g]));
  }
  const row = new Int32Array(R * S);
  const experts = new Int32Array(perNode * gsize);
  const local = new Float64Array(perNode * gsize);
  for (let n = 0; n < N; n++) {
    const groups = nodeGroups.subarray(n * perNode, (n + 1) * perNode);
    groups.sort();
    let m = 0;
    for (let j = 0; j < perNode; j++) for (let i = 0; i < gsize; i++) unchecked((experts[m++] = groups[j] * gsize + i));
    for (let i = 0; i < m; i++) unchecked((local[i] = h[experts[i]]));
    const sub = packLpt(local, replicateMinMax(local, rpn * S, rpn), rpn, S);
    for (let i = 0; i < sub.length; i++) unchecked((row[n * rpn * S + i] = experts[sub[i]]));
  }
  return row;
}

@inline function groupBefore(gw: Float64Array, a: i32, b: i32): bool {
  const wa = unchecked(gw[a]), wb = unchecked(gw[b]);
  return wa > wb || (wa == wb && a < b);
}

function hierarchicalApplies(E: i32, R: i32, S: i32, N: i32, G: i32): bool {
  return G > 1 && N > 1 && G % N == 0 && E % G == 0 && R % N == 0 && (R / N) * S >= E / N;
}

/** max rank load / mean rank load on one heat vector (imbalance: rankLoads then peakOverMean). */
function imbalance(row: Int32Array, h: Float64Array, R: i32, S: i32): f64 {
  const reps = new Int32Array(h.length);
  for (let p = 0; p < row.length; p++) unchecked(reps[row[p]]++);
  const loads = new Float64Array(R);
  for (let p = 0; p < row.length; p++) {
    const e = unchecked(row[p]);
    unchecked((loads[p / S] += h[e] / <f64>reps[e]));
  }
  return peakOverMean(loads, R);
}

function peakOverMean(loads: Float64Array, R: i32): f64 {
  let max: f64 = 0, sum: f64 = 0;
  for (let r = 0; r < R; r++) {
    const v = unchecked(loads[r]);
    sum += v;
    if (v > max) max = v;
  }
  return sum > 0 ? (max * <f64>R) / sum : 1;
}

/** Keeps an expert a rank already holds in its current slot; the rest in order (alignToCurrent). */
function alignToCurrent(cur: Int32Array, next: Int32Array, S: i32): void {
  const pending = new Int32Array(S);
  const placed = new StaticArray<bool>(S);
  for (let start = 0; start < next.length; start += S) {
    let np = 0;
    for (let p = start; p < start + S; p++) unchecked((pending[np++] = next[p]));
    for (let j = 0; j < S; j++) unchecked((placed[j] = false));
    for (let j = 0; j < S; j++) {
      const e = unchecked(cur[start + j]);
      let i = 0;
      while (i < np && unchecked(pending[i]) != e) i++;
      if (i < np) {
        unchecked((next[start + j] = e));
        unchecked((placed[j] = true));
        for (let q = i + 1; q < np; q++) unchecked((pending[q - 1] = pending[q]));
        np--;
      }
    }
    let head = 0;
    for (let j = 0; j < S; j++) if (!unchecked(placed[j])) unchecked((next[start + j] = pending[head++]));
  }
}

/** Experts arriving at a rank that did not hold them (layerTransfers). */
function layerTransfers(before: Int32Array, after: Int32Array, S: i32): i32 {
  let t = 0;
  for (let start = 0; start < after.length; start += S) {
    for (let p = start; p < start + S; p++) {
      const e = unchecked(after[p]);
      let had = false;
      for (let q = start; q < start + S; q++) if (unchecked(before[q]) == e) had = true;
      if (had) continue;
      // counted once per rank: only its first slot of e
      let first = true;
      for (let q = start; q < p; q++) if (unchecked(after[q]) == e) first = false;
      if (first) t++;
    }
  }
  return t;
}

/**
 * The window and mean per-episode imbalance of layer l's row in one pass over the episodes
 * (the registry's `imbalances`). Writes the window's into out[0], the episode mean into out[1].
 */
function imbalances(row: Int32Array, K: i32, L: i32, l: i32, E: i32, R: i32, S: i32, out: Float64Array): void {
  const P = R * S;
  const reps = new Int32Array(E);
  const share = new Float64Array(P);
  const window = new Float64Array(R);
  for (let p = 0; p < P; p++) unchecked(reps[row[p]]++);
  for (let p = 0; p < P; p++) unchecked((share[p] = 1 / <f64>reps[row[p]]));
  let mean: f64 = 0;
  for (let k = 0; k < K; k++) {
    const base = (k * L + l) * E;
    let max: f64 = 0, total: f64 = 0;
    for (let r = 0, p = 0; r < R; r++) {
      let v: f64 = 0;
      for (let j = 0; j < S; j++, p++) v += unchecked(heat[base + row[p]]) * unchecked(share[p]);
      unchecked((window[r] += v));
      total += v;
      if (v > max) max = v;
    }
    mean += total > 0 ? (max * <f64>R) / total : 1;
  }
  unchecked((out[0] = peakOverMean(window, R)));
  unchecked((out[1] = mean / <f64>K));
}

/**
 * greedyPolicy over every layer, then what the registry does per layer for it: the row aligned to
 * the map in service, the imbalances before and after, the transfers. hierarchical: 0 as the CLI
 * runs it (the hierarchical form where it applies and balances within 1% of the flat one), 1
 * forced where it applies, −1 never.
 */
export function planAll(K: i32, L: i32, E: i32, R: i32, S: i32, N: i32, G: i32, hierarchical: i32): void {
  const P = R * S;
  const applies = hierarchical >= 0 && hierarchicalApplies(E, R, S, N, G);
  const hasCurrent = current.length > 0;
  const h = new Float64Array(E);
  const after = new Float64Array(2), before = new Float64Array(2);
  for (let l = 0; l < L; l++) {
    // windowSum
    h.fill(0);
    for (let k = 0; k < K; k++) {
      const base = (k * L + l) * E;
      for (let e = 0; e < E; e++) unchecked((h[e] += heat[base + e]));
    }
    let row = greedyLayer(h, R, S);
    if (applies) {
      const hier = hierarchicalLayer(h, R, S, N, G);
      if (hierarchical > 0 || imbalance(hier, h, R, S) <= imbalance(row, h, R, S) * 1.01) row = hier;
    }
    const cur = hasCurrent ? current.subarray(l * P, (l + 1) * P) : new Int32Array(0);
    if (hasCurrent) alignToCurrent(cur, row, S);
    plan.set(row, l * P);
    let redeployed = true;
    if (hasCurrent) {
      redeployed = false;
      for (let p = 0; p < P && !redeployed; p++) redeployed = unchecked(row[p]) != unchecked(cur[p]);
    }
    imbalances(row, K, L, l, E, R, S, after);
    if (hasCurrent) {
      if (redeployed) imbalances(cur, K, L, l, E, R, S, before);
      else before.set(after);
    }
    const o = l * REPORT_FIELDS;
    unchecked((report[o] = hasCurrent ? before[0] : NaN));
    unchecked((report[o + 1] = after[0]));
    unchecked((report[o + 2] = hasCurrent ? before[1] : NaN));
    unchecked((report[o + 3] = after[1]));
    unchecked((report[o + 4] = hasCurrent && redeployed ? <f64>layerTransfers(cur, row, S) : 0));
    unchecked((report[o + 5] = redeployed ? 1 : 0));
  }
}
