import { LayerProblem } from './engine';
import { replicateMinMax } from './greedy';

export interface BnbResult {
  /** Best row found, or null when nothing beat the incumbent. */
  readonly row: Int32Array | null;
  readonly f: number;
  /** True when the search space was exhausted within the node budget (the result is optimal). */
  readonly complete: boolean;
  readonly nodes: number;
}

/**
 * Joint replica allotment and placement by depth-first branch and bound (the FlashLB idea, made
 * exact): experts are decided hottest first, one expert per level — how many replicas, and on
 * which ranks (distinct ranks; ranks in identical states are interchangeable, so only one of them
 * is tried). A partial placement is cut when a lower bound on its objective F reaches the
 * incumbent: per episode, the peak so far, the mean (1 after normalisation), and the hottest
 * expert not yet placed spread over as many replicas as the slots still free would allow.
 */
export function branchAndBound(pb: LayerProblem, incumbentF: number, nodeBudget: number): BnbResult {
  const { E, R, S, K, w, hn, hsum } = pb;
  const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => hsum[b] - hsum[a] || a - b);
  const hint = replicateMinMax(hsum, R * S, R);
  // suffix maxima of the normalised heat per episode: sufMax[i*K + k] = max_{j ≥ i} hn[order[j]][k]
  const sufMax = new Float64Array((E + 1) * K);
  for (let i = E - 1; i >= 0; i--) {
    const eo = order[i] * K;
    for (let k = 0; k < K; k++) sufMax[i * K + k] = Math.max(sufMax[(i + 1) * K + k], hn[eo + k]);
  }
  const active = new Float64Array(K);
  for (let k = 0; k < K; k++) active[k] = sufMax[k] > 0 ? 1 : 0;

  const load = new Float64Array(R * K);
  const free = new Int32Array(R).fill(S);
  const held = new Int32Array(R * S);
  const peaks = new Float64Array((E + 1) * K);
  const cand = new Int32Array((E + 1) * R);
  const chosen = new Uint8Array(R);
  let best = incumbentF;
  let bestRow: Int32Array | null = null;
  let nodes = 0;
  let aborted = false;

  const identical = (r1: number, r2: number): boolean => {
    if (free[r1] !== free[r2]) return false;
    for (let k = 0; k < K; k++) if (Math.abs(load[r1 * K + k] - load[r2 * K + k]) > 1e-12) return false;
    return true;
  };

  const bound = (i: number, freeTotal: number): number => {
    // i experts placed; peaks at level i
    const rem = E - i;
    const cap = rem > 0 ? Math.max(1, Math.min(R, freeTotal - (rem - 1))) : 1;
    let lb = 0;
    for (let k = 0; k < K; k++) {
      let m = peaks[i * K + k];
      if (active[k] > m) m = active[k];
      const s = sufMax[i * K + k] / cap;
      if (s > m) m = s;
      lb += w[k] * m;
    }
    return lb;
  };

  function level(i: number, freeTotal: number): void {
    if (aborted) return;
    if (++nodes > nodeBudget) {
      aborted = true;
      return;
    }
    if (i === E) {
      if (freeTotal !== 0) return;
      let f = 0;
      for (let k = 0; k < K; k++) f += w[k] * peaks[i * K + k];
      if (f < best - 1e-12) {
        best = f;
        bestRow = new Int32Array(R * S);
        for (let r = 0; r < R; r++) for (let j = 0; j < S; j++) bestRow[r * S + j] = held[r * S + j];
      }
      return;
    }
    const e = order[i];
    const rem = E - i - 1;
    // candidate ranks with room, least loaded first
    let nc = 0;
    const co = i * R;
    for (let r = 0; r < R; r++) if (free[r] > 0) cand[co + nc++] = r;
    const sums = new Float64Array(R);
    for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) sums[r] += w[k] * load[r * K + k];
    const sorted = Array.from(cand.subarray(co, co + nc)).sort((a, b) => sums[a] - sums[b] || a - b);
    for (let j = 0; j < nc; j++) cand[co + j] = sorted[j];
    const cmax = Math.min(nc, freeTotal - rem);
    const cmin = rem === 0 ? freeTotal : 1;
    if (cmin > cmax) return;
    // replica counts: the min-max hint first, then alternately below and above it
    const h = Math.min(cmax, Math.max(cmin, hint[e]));
    for (let d = 0; d <= cmax - cmin; d++) {
      for (const c of d === 0 ? [h] : [h - d, h + d]) {
        if (c < cmin || c > cmax) continue;
        choose(i, e, c, 0, 0, freeTotal, nc);
        if (aborted) return;
      }
    }
  }

  function choose(i: number, e: number, c: number, from: number, taken: number, freeTotal: number, nc: number): void {
    if (aborted) return;
    const co = i * R;
    if (taken === c) {
      const rem = E - i - 1;
      for (let r = 0; r < R; r++) if (free[r] > rem) return; // a rank would need a duplicate later
      for (let k = 0; k < K; k++) {
        let m = peaks[i * K + k];
        for (let j = 0; j < nc; j++) {
          const r = cand[co + j];
          if (chosen[r] && load[r * K + k] > m) m = load[r * K + k];
        }
        peaks[(i + 1) * K + k] = m;
      }
      if (bound(i + 1, freeTotal - c) < best - 1e-12) level(i + 1, freeTotal - c);
      return;
    }
    const inv = 1 / c;
    const eo = e * K;
    for (let j = from; j <= nc - (c - taken); j++) {
      const r = cand[co + j];
      if (j > from && !chosen[cand[co + j - 1]] && identical(r, cand[co + j - 1])) continue;
      // place
      chosen[r] = 1;
      let over = false;
      for (let k = 0; k < K; k++) load[r * K + k] += hn[eo + k] * inv;
      // quick cut: this rank alone already lifts the bound past the incumbent
      let lb = 0;
      for (let k = 0; k < K; k++) {
        let m = peaks[i * K + k];
        if (active[k] > m) m = active[k];
        if (load[r * K + k] > m) m = load[r * K + k];
        lb += w[k] * m;
      }
      if (lb >= best - 1e-12) over = true;
      held[r * S + (S - free[r])] = e;
      free[r]--;
      if (!over) choose(i, e, c, j + 1, taken + 1, freeTotal, nc);
      free[r]++;
      for (let k = 0; k < K; k++) load[r * K + k] -= hn[eo + k] * inv;
      chosen[r] = 0;
      if (aborted) return;
    }
  }

  level(0, R * S);
  return { row: bestRow, f: best, complete: !aborted, nodes };
}
