/**
 * The multi-episode placement state shared by the policies. One layer at a time:
 * heat is normalised per episode so that the mean rank load is 1, hence an episode's imbalance
 * is simply its largest rank load, and the objective
 *     F = Σ_k w_k · max_r load[r][k]
 * is the weighted mean per-episode imbalance (w sums to 1). Everything is typed arrays; the inner
 * loops allocate nothing.
 */
export class LayerProblem {
  readonly P: number;
  /** hn[e*K + k]: heat of e in episode k, scaled so the episode's mean rank load is 1. */
  readonly hn: Float64Array;
  /** Weighted sum over episodes of hn (expected normalised heat of e). */
  readonly hsum: Float64Array;

  constructor(
    readonly E: number,
    readonly R: number,
    readonly S: number,
    readonly K: number,
    episodes: readonly ArrayLike<number>[],
    readonly w: Float64Array,
  ) {
    this.P = R * S;
    this.hn = new Float64Array(E * K);
    this.hsum = new Float64Array(E);
    for (let k = 0; k < K; k++) {
      const h = episodes[k];
      let total = 0;
      for (let e = 0; e < E; e++) total += h[e];
      const scale = total > 0 ? R / total : 0;
      for (let e = 0; e < E; e++) this.hn[e * K + k] = h[e] * scale;
    }
    for (let e = 0; e < E; e++) for (let k = 0; k < K; k++) this.hsum[e] += w[k] * this.hn[e * K + k];
  }

  /** Σ_k w_k over episodes whose heat is all zero: their imbalance is 1 by definition. */
  zeroEpisodesWeight(): number {
    let z = 0;
    for (let k = 0; k < this.K; k++) {
      let any = false;
      for (let e = 0; e < this.E && !any; e++) any = this.hn[e * this.K + k] > 0;
      if (!any) z += this.w[k];
    }
    return z;
  }
}

const EPS = 1e-12;

export interface Shots {
  readonly episodes: Float64Array[];
  readonly w: Float64Array;
}

/**
 * Groups episodes whose heat looks alike into at most `maxShots` shots (leader clustering,
 * newest episode first: an episode joins the shot whose leader it correlates with best if that
 * Pearson correlation reaches `similarity`, else opens a new shot while there is room). A shot
 * is the weighted mean of its episodes, each first scaled to the same total, and weighs the sum
 * of their weights. Phases of an alternating load become one shot each; stationary noise
 * averages away into one shot (it cannot be planned for); drift keeps neighbours together.
 */
export function groupEpisodes(
  episodes: readonly ArrayLike<number>[],
  w: ArrayLike<number>,
  maxShots: number,
  similarity: number,
): Shots {
  const K = episodes.length;
  const E = episodes[0].length;
  // Pearson correlation from raw heat: with n = h / total, Σ_e (n_i − 1/E)(n_j − 1/E) =
  // Σ_e h_i h_j / (T_i T_j) − 1/E; kind[k]: 0 all-zero, 1 flat (no variance), 2 otherwise —
  // degenerate episodes correlate only with episodes of their own kind (then perfectly)
  const inv = new Float64Array(K);
  const sd = new Float64Array(K);
  const kind = new Uint8Array(K);
  for (let k = 0; k < K; k++) {
    const h = episodes[k];
    let total = 0, sq = 0;
    for (let e = 0; e < E; e++) {
      const x = h[e];
      total += x;
      sq += x * x;
    }
    if (total <= 0) continue;
    inv[k] = 1 / total;
    const ss = sq * inv[k] * inv[k] - 1 / E;
    kind[k] = ss > 1e-12 / E ? 2 : 1;
    sd[k] = kind[k] === 2 ? Math.sqrt(ss) : 0;
  }
  // leader clustering: a shot is represented by its first (newest) episode
  const leaders: number[] = [];
  const assign = new Int32Array(K);
  for (let k = K - 1; k >= 0; k--) {
    let best = -1, bestC = -Infinity;
    const hk = episodes[k];
    for (let c = 0; c < leaders.length; c++) {
      const lk = leaders[c];
      let corr: number;
      if (kind[lk] !== 2 || kind[k] !== 2) corr = kind[lk] === kind[k] ? 1 : 0;
      else {
        const hl = episodes[lk];
        let dot = 0;
        for (let e = 0; e < E; e++) dot += hl[e] * hk[e];
        corr = (dot * inv[lk] * inv[k] - 1 / E) / (sd[lk] * sd[k]);
      }
      if (corr > bestC) {
        bestC = corr;
        best = c;
      }
    }
    if (best < 0 || (bestC < similarity && leaders.length < maxShots)) {
      leaders.push(k);
      best = leaders.length - 1;
    }
    assign[k] = best;
  }
  // shot c: the w-weighted mean of its episodes, each scaled to total 1
  const nShots = leaders.length;
  const sums: Float64Array[] = [];
  const weights = new Float64Array(nShots);
  for (let c = 0; c < nShots; c++) sums.push(new Float64Array(E));
  for (let k = K - 1; k >= 0; k--) {
    const c = assign[k];
    const wk = w[k] > 0 ? w[k] : 1e-300;
    const f = wk * inv[k];
    const sum = sums[c];
    const h = episodes[k];
    for (let e = 0; e < E; e++) sum[e] += f * h[e];
    weights[c] += wk;
  }
  for (let c = 0; c < nShots; c++) {
    const iw = 1 / weights[c];
    for (let e = 0; e < E; e++) sums[c][e] *= iw;
  }
  return { episodes: sums, w: weights };
}

const pool: ArrayBuffer[] = [];

/**
 * inverse[n] = 1 / n, for replica counts: the engine's shares. Read from a Float64Array, a share
 * is a double wherever it is used; computed as 1 / n, compiled code that has seen only whole
 * quotients there (n = 1, the count of most experts) divides as integers and is thrown back to
 * the interpreter at the first expert with two replicas ("lost precision"), then compiled again.
 * The same values as 1 / n. Grows to the largest count asked for.
 */
let inverse = new Float64Array(0);

function inverses(n: number): Float64Array {
  if (inverse.length <= n) {
    inverse = new Float64Array(Math.max(n + 1, 2 * inverse.length));
    for (let i = 0; i < inverse.length; i++) inverse[i] = 1 / i;
  }
  return inverse;
}

/** A zeroed buffer of `bytes`, from the pool of released ones when one fits. */
function takeBuffer(bytes: number): ArrayBuffer {
  for (let i = 0; i < pool.length; i++) {
    if (pool[i].byteLength !== bytes) continue;
    const b = pool[i];
    pool[i] = pool[pool.length - 1];
    pool.pop();
    new Uint8Array(b).fill(0);
    return b;
  }
  return new ArrayBuffer(bytes);
}

export class PlacementState {
  readonly slot: Int32Array;
  readonly reps: Int32Array;
  /** cnt[r*E + e]: replicas of e on rank r. */
  readonly cnt: Uint16Array;
  /** orig[r*E + e] = 1 when rank r held e in the map in service (transfers are counted against it). */
  readonly orig: Uint8Array;
  readonly load: Float64Array;
  readonly top1: Float64Array;
  readonly arg1: Int32Array;
  readonly top2: Float64Array;
  readonly arg2: Int32Array;
  readonly top3: Float64Array;
  readonly arg3: Int32Array;
  transfers = 0;
  /** Change of V = Σ_k w_k Σ_r load² / R computed by the last evalSwap / evalRetarget (0 when not asked for). */
  lastDV = 0;
  /** Per-episode scratch of evalRetarget. */
  private readonly tmp: Float64Array;
  private readonly affected: Int32Array;
  /** Slots of each expert as a doubly linked list: head[e], then nxt[p] (−1 ends); prv[p] back. */
  private readonly head: Int32Array;
  private readonly nxt: Int32Array;
  private readonly prv: Int32Array;
  /** mark[r] === stamp: rank r is affected by the move evalRetarget is looking at. */
  private readonly mark: Int32Array;
  /**
   * rank[p]: the rank of slot p. A table rather than p / S: compiled code that has seen only
   * whole quotients there (slots at a rank's start) divides as integers and is thrown back to the
   * interpreter at the first slot that is not ("lost precision"), then compiled again.
   */
  private readonly rank: Int32Array;
  /** inv[n] = 1 / n for every replica count a slot move can reach (n ≤ P + 1). */
  private readonly inv: Float64Array;
  private stamp = 0;
  private buf: ArrayBuffer | null;

  constructor(readonly pb: LayerProblem, initial: ArrayLike<number>, original?: ArrayLike<number>) {
    const { E, R, K, P, S } = pb;
    this.slot = Int32Array.from(initial as ArrayLike<number>);
    this.reps = new Int32Array(E);
    // one buffer for both R·E tables, reused from a state released before when there is one
    const buf = takeBuffer(3 * R * E);
    this.buf = buf;
    this.cnt = new Uint16Array(buf, 0, R * E);
    this.orig = new Uint8Array(buf, 2 * R * E, R * E);
    this.load = new Float64Array(R * K);
    this.top1 = new Float64Array(K);
    this.top2 = new Float64Array(K);
    this.top3 = new Float64Array(K);
    this.arg1 = new Int32Array(K);
    this.arg2 = new Int32Array(K);
    this.arg3 = new Int32Array(K);
    this.tmp = new Float64Array(K);
    this.affected = new Int32Array(R);
    this.head = new Int32Array(E).fill(-1);
    this.nxt = new Int32Array(P);
    this.prv = new Int32Array(P);
    this.mark = new Int32Array(R);
    this.rank = new Int32Array(P);
    this.inv = inverses(P + 1);
    for (let r = 0, p = 0; r < R; r++) for (let j = 0; j < S; j++, p++) this.rank[p] = r;
    for (let p = P - 1; p >= 0; p--) this.link(p, this.slot[p]);
    const base = original ?? initial;
    for (let p = 0; p < P; p++) this.orig[((p / S) | 0) * E + base[p]] = 1;
    for (let p = 0; p < P; p++) {
      const e = this.slot[p];
      this.reps[e]++;
      this.cnt[((p / S) | 0) * E + e]++;
    }
    if (original) this.recompute();
    else this.recomputeLoads(); // transfers are counted against the initial map itself: 0
  }

  /**
   * Hands the state's R·E tables back for the next state to reuse (a placement search allocates
   * one state per layer); the state must not be used afterwards.
   */
  release(): void {
    if (this.buf && pool.length < 4) pool.push(this.buf);
    this.buf = null;
  }

  private link(p: number, e: number): void {
    const h = this.head[e];
    this.nxt[p] = h;
    this.prv[p] = -1;
    if (h >= 0) this.prv[h] = p;
    this.head[e] = p;
  }

  private unlink(p: number, e: number): void {
    const n = this.nxt[p], v = this.prv[p];
    if (v >= 0) this.nxt[v] = n;
    else this.head[e] = n;
    if (n >= 0) this.prv[n] = v;
  }

  rankOf(p: number): number {
    return this.rank[p];
  }

  /** Loads, per-episode top three ranks and transfer count from scratch. */
  recompute(): void {
    const { E, S, P } = this.pb;
    // (rank, expert) pairs held now but not originally, each counted at its rank's first slot
    let t = 0;
    for (let p = 0; p < P; p++) {
      const e = this.slot[p];
      const r0 = p - (p % S);
      if (this.orig[(r0 / S) * E + e] !== 0) continue;
      let first = true;
      for (let q = r0; q < p && first; q++) if (this.slot[q] === e) first = false;
      if (first) t++;
    }
    this.transfers = t;
    this.recomputeLoads();
  }

  recomputeLoads(): void {
    const { K, P, S, hn } = this.pb;
    this.load.fill(0);
    for (let p = 0; p < P; p++) {
      const e = this.slot[p];
      const inv = this.inv[this.reps[e]];
      const ro = ((p / S) | 0) * K;
      const eo = e * K;
      for (let k = 0; k < K; k++) this.load[ro + k] += hn[eo + k] * inv;
    }
    this.recomputeTops();
  }

  recomputeTops(): void {
    const { R, K } = this.pb;
    for (let k = 0; k < K; k++) {
      let v1 = -1, v2 = -1, v3 = -1, a1 = -1, a2 = -1, a3 = -1;
      for (let r = 0; r < R; r++) {
        const v = this.load[r * K + k];
        if (v > v1) {
          v3 = v2; a3 = a2; v2 = v1; a2 = a1; v1 = v; a1 = r;
        } else if (v > v2) {
          v3 = v2; a3 = a2; v2 = v; a2 = r;
        } else if (v > v3) {
          v3 = v; a3 = r;
        }
      }
      this.top1[k] = v1; this.arg1[k] = a1;
      this.top2[k] = v2; this.arg2[k] = a2;
      this.top3[k] = v3; this.arg3[k] = a3;
    }
  }

  objective(): number {
    const { K, w } = this.pb;
    let f = 0;
    for (let k = 0; k < K; k++) f += w[k] * this.top1[k];
    return f;
  }

  /** Max over ranks other than r1 and r2 of episode k, or -1 when the top three do not tell. */
  private maxExcluding(k: number, r1: number, r2: number): number {
    const a1 = this.arg1[k];
    if (a1 !== r1 && a1 !== r2) return this.top1[k];
    const a2 = this.arg2[k];
    if (a2 !== r1 && a2 !== r2) return this.top2[k];
    const a3 = this.arg3[k];
    if (a3 !== r1 && a3 !== r2) return this.top3[k];
    return 0; // only when R ≤ 2 (then every rank is r1 or r2)
  }

  /** Change of F if slots p and q (on different ranks) exchange their experts. */
  evalSwap(p: number, q: number, withDV = true): number {
    const { K, w, hn } = this.pb;
    const a = this.slot[p];
    const b = this.slot[q];
    const r1 = this.rankOf(p);
    const r2 = this.rankOf(q);
    const ia = this.inv[this.reps[a]];
    const ib = this.inv[this.reps[b]];
    const ao = a * K, bo = b * K, o1 = r1 * K, o2 = r2 * K;
    let delta = 0;
    let dv = 0;
    for (let k = 0; k < K; k++) {
      const d = hn[ao + k] * ia - hn[bo + k] * ib;
      const l1 = this.load[o1 + k], l2 = this.load[o2 + k];
      const n1 = l1 - d;
      const n2 = l2 + d;
      let m = this.maxExcluding(k, r1, r2);
      if (n1 > m) m = n1;
      if (n2 > m) m = n2;
      delta += w[k] * (m - this.top1[k]);
      if (withDV) dv += w[k] * (n1 * n1 + n2 * n2 - l1 * l1 - l2 * l2);
    }
    this.lastDV = dv / this.pb.R;
    return delta;
  }

  /** Change of the transfer count if slots p and q exchange their experts. */
  swapTransfers(p: number, q: number): number {
    const E = this.pb.E;
    const a = this.slot[p], b = this.slot[q];
    const r1 = this.rankOf(p), r2 = this.rankOf(q);
    const cnt = this.cnt, orig = this.orig;
    // r1 loses a, gains b; r2 loses b, gains a. Each term is 0 or 1 and every one is added, so
    // the compiled code meets no increment it has not seen run (a rare one would send it back
    // to the interpreter)
    const lost = (cnt[r1 * E + a] === 1 && orig[r1 * E + a] === 0 ? 1 : 0) + (cnt[r2 * E + b] === 1 && orig[r2 * E + b] === 0 ? 1 : 0);
    const gained = (cnt[r1 * E + b] === 0 && orig[r1 * E + b] === 0 ? 1 : 0) + (cnt[r2 * E + a] === 0 && orig[r2 * E + a] === 0 ? 1 : 0);
    return gained - lost;
  }

  applySwap(p: number, q: number): void {
    const { K, E, hn } = this.pb;
    const a = this.slot[p], b = this.slot[q];
    const r1 = this.rankOf(p), r2 = this.rankOf(q);
    this.transfers += this.swapTransfers(p, q);
    const ia = this.inv[this.reps[a]], ib = this.inv[this.reps[b]];
    for (let k = 0; k < K; k++) {
      const d = hn[a * K + k] * ia - hn[b * K + k] * ib;
      this.load[r1 * K + k] -= d;
      this.load[r2 * K + k] += d;
    }
    this.slot[p] = b;
    this.slot[q] = a;
    this.unlink(p, a); this.link(p, b);
    this.unlink(q, b); this.link(q, a);
    this.cnt[r1 * E + a]--; this.cnt[r1 * E + b]++;
    this.cnt[r2 * E + b]--; this.cnt[r2 * E + a]++;
    this.recomputeTops();
  }

  /**
   * Change of F if slot p (holding a, reps[a] ≥ 2) is given to expert b instead: the replicas of a
   * and of b are re-weighted on every rank that holds them.
   */
  evalRetarget(p: number, b: number, withDV = true): number {
    const { K, E, R, w, hn } = this.pb;
    const a = this.slot[p];
    const rp = this.rankOf(p);
    const ra = this.reps[a], rb = this.reps[b];
    const inv = this.inv;
    const oa = inv[ra], na = inv[ra - 1], ob = inv[rb], nb = inv[rb + 1];
    // affected ranks: p's, and those holding a or b (from the slot lists, deduplicated by stamp)
    const mark = this.mark, rank = this.rank;
    const stamp = ++this.stamp;
    let n = 0;
    mark[rp] = stamp;
    this.affected[n++] = rp;
    for (let q = this.head[a]; q >= 0; q = this.nxt[q]) {
      const r = rank[q];
      if (mark[r] !== stamp) {
        mark[r] = stamp;
        this.affected[n++] = r;
      }
    }
    for (let q = this.head[b]; q >= 0; q = this.nxt[q]) {
      const r = rank[q];
      if (mark[r] !== stamp) {
        mark[r] = stamp;
        this.affected[n++] = r;
      }
    }
    // per episode: the max over unaffected ranks (the first of the top three that is unaffected,
    // else a scan), then raised by the affected ranks' new loads
    const mk = this.tmp;
    for (let k = 0; k < K; k++) {
      let m = -1;
      if (mark[this.arg1[k]] !== stamp) m = this.top1[k];
      else if (this.arg2[k] >= 0 && mark[this.arg2[k]] !== stamp) m = this.top2[k];
      else if (this.arg3[k] >= 0 && mark[this.arg3[k]] !== stamp) m = this.top3[k];
      mk[k] = m < 0 ? this.maxUnmarked(k, stamp) : m;
    }
    const ao = a * K, bo = b * K;
    let dv = 0;
    for (let i = 0; i < n; i++) {
      const r = this.affected[i];
      const ca = this.cnt[r * E + a], cb = this.cnt[r * E + b];
      const ca2 = r === rp ? ca - 1 : ca;
      const cb2 = r === rp ? cb + 1 : cb;
      const fa = ca2 * na - ca * oa, fb = cb2 * nb - cb * ob;
      const ro = r * K;
      for (let k = 0; k < K; k++) {
        const o = this.load[ro + k];
        const nl = o + fa * hn[ao + k] + fb * hn[bo + k];
        if (nl > mk[k]) mk[k] = nl;
        if (withDV) dv += w[k] * (nl * nl - o * o);
      }
    }
    this.lastDV = dv / R;
    let delta = 0;
    for (let k = 0; k < K; k++) delta += w[k] * (mk[k] - this.top1[k]);
    return delta;
  }

  /**
   * Max load of episode k over the ranks not marked with `stamp` (0 when every rank is), by a
   * scan: evalRetarget's rare case where the top three ranks are all affected. A method of its
   * own so that evalRetarget's compiled code calls it rather than meeting, the first time the case
   * comes, a comparison it has never seen run (which sends it back to the interpreter).
   */
  private maxUnmarked(k: number, stamp: number): number {
    const { R, K } = this.pb;
    let m = 0;
    for (let r = 0; r < R; r++) {
      if (this.mark[r] !== stamp && this.load[r * K + k] > m) m = this.load[r * K + k];
    }
    return m;
  }

  /**
   * Cheap screen for evalRetarget(p, b): new loads of p's rank and of `other` only (the rank
   * whose load the move is meant to relieve); replicas elsewhere are ignored.
   */
  screenRetarget(p: number, b: number, other: number): number {
    const { K, E, w, hn } = this.pb;
    const a = this.slot[p];
    const rp = this.rankOf(p);
    const ra = this.reps[a], rb = this.reps[b];
    const inv = this.inv;
    const ia = inv[ra], ib1 = inv[rb + 1];
    const co = this.cnt[other * E + b], ca = this.cnt[other * E + a];
    const fo = co * (ib1 - inv[rb]), fa = ca * (inv[ra - 1] - ia);
    let delta = 0;
    for (let k = 0; k < K; k++) {
      const np = this.load[rp * K + k] - hn[a * K + k] * ia + hn[b * K + k] * ib1;
      let m = this.maxExcluding(k, rp, other);
      if (np > m) m = np;
      if (other !== rp) {
        const no = this.load[other * K + k] + fo * hn[b * K + k] + fa * hn[a * K + k];
        if (no > m) m = no;
      }
      delta += w[k] * (m - this.top1[k]);
    }
    return delta;
  }

  retargetTransfers(p: number, b: number): number {
    const E = this.pb.E;
    const a = this.slot[p], r = this.rankOf(p);
    // as in swapTransfers: both terms always added
    const lost = this.cnt[r * E + a] === 1 && this.orig[r * E + a] === 0 ? 1 : 0;
    const gained = this.cnt[r * E + b] === 0 && this.orig[r * E + b] === 0 ? 1 : 0;
    return gained - lost;
  }

  applyRetarget(p: number, b: number): void {
    const E = this.pb.E;
    const a = this.slot[p], r = this.rankOf(p);
    this.transfers += this.retargetTransfers(p, b);
    this.slot[p] = b;
    this.unlink(p, a); this.link(p, b);
    this.reps[a]--; this.reps[b]++;
    this.cnt[r * E + a]--; this.cnt[r * E + b]++;
    this.recomputeLoads();
  }
}

export { EPS };
