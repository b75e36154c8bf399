import { alignToCurrent } from '../transfer/transfer-plan';

/**
 * Relabels the ranks of a from-scratch row so that it keeps as many of the map in service's
 * (rank, logical expert) pairs as possible: which rank plays which part of a fresh plan is free
 * (every rank has the same S slots), so the plan is as good under any relabelling, and the one
 * that maximises the overlap with `current` needs the fewest transfers. An assignment problem on
 * R × R overlaps, solved exactly (Hungarian, O(R³)); slots inside a rank are then aligned so that
 * kept experts keep their slot.
 */
export function matchRanks(current: ArrayLike<number>, target: ArrayLike<number>, R: number, S: number, E: number): number[] {
  const has = new Uint8Array(R * E);
  for (let p = 0; p < R * S; p++) has[((p / S) | 0) * E + current[p]] = 1;
  // cost[i][j] = − experts of target rank i that current rank j holds already (each counted once)
  const cost = new Float64Array(R * R);
  for (let i = 0; i < R; i++) {
    for (let s = 0; s < S; s++) {
      const e = target[i * S + s];
      let dup = false;
      for (let t = 0; t < s && !dup; t++) dup = target[i * S + t] === e;
      if (dup) continue;
      for (let j = 0; j < R; j++) if (has[j * E + e]) cost[i * R + j] -= 1;
    }
  }
  const to = hungarian(cost, R);
  const out = new Array<number>(R * S);
  for (let i = 0; i < R; i++) for (let s = 0; s < S; s++) out[to[i] * S + s] = target[i * S + s];
  return alignToCurrent(current, out, S);
}

/**
 * Minimum-cost perfect assignment of an n × n cost matrix (row-major): result[i] = the column of
 * row i. Kuhn–Munkres with potentials, O(n³).
 */
export function hungarian(cost: ArrayLike<number>, n: number): Int32Array {
  const u = new Float64Array(n + 1), v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1), way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Int32Array(n);
  for (let j = 1; j <= n; j++) if (p[j] > 0) out[p[j] - 1] = j - 1;
  return out;
}
