import { EPS, LayerProblem, PlacementState } from './engine';
import { repairDuplicates } from './greedy';

/**
 * Placement built for the multi-episode objective, without a map in service: replicas by min-max
 * of the expected heat (at most one replica per rank), then vector LPT — each replica, hottest
 * first, to the rank with a free slot that raises the per-episode peaks least, ties broken by the
 * smallest co-load (Σ_k w_k · load[r][k] · u[k], which pairs experts hot in different episodes).
 * With `sticky` (drift.ts stickyConstruct), a rank whose `home` flag for the expert is 0 pays
 * `penalty` on top, and the co-load is folded into the cost (weight 1e-3) instead of breaking ties.
 */
export function constructVector(pb: LayerProblem, reps: Int32Array, sticky?: { readonly home: Uint8Array; readonly penalty: number }): Int32Array {
  const { E, R, S, K, w, hn, hsum } = pb;
  const items: number[] = [];
  for (let e = 0; e < E; e++) for (let c = 0; c < reps[e]; c++) items.push(e);
  items.sort((x, y) => hsum[y] / reps[y] - hsum[x] / reps[x] || x - y);
  const load = new Float64Array(R * K);
  const peak = new Float64Array(K);
  const count = new Int32Array(R);
  const has = new Uint8Array(R * E);
  const row = new Int32Array(R * S);
  for (const e of items) {
    const inv = 1 / reps[e];
    const eo = e * K;
    let best = -1, bestCost = Infinity, bestTie = Infinity, bestDup = true;
    for (let r = 0; r < R; r++) {
      if (count[r] >= S) continue;
      const dup = has[r * E + e] === 1;
      if (dup && !bestDup) continue;
      let primary = 0, secondary = 0;
      const ro = r * K;
      for (let k = 0; k < K; k++) {
        const u = hn[eo + k] * inv;
        const nl = load[ro + k] + u;
        if (nl > peak[k]) primary += w[k] * (nl - peak[k]);
        secondary += w[k] * load[ro + k] * u;
      }
      const cost = sticky ? primary + 1e-3 * secondary + (sticky.home[r * E + e] === 1 ? 0 : sticky.penalty) : primary;
      const tie = sticky ? 0 : secondary;
      if (best < 0 || (bestDup && !dup) || cost < bestCost - EPS || (cost <= bestCost + EPS && tie < bestTie - EPS)) {
        best = r; bestCost = cost; bestTie = tie; bestDup = dup;
      }
    }
    row[best * S + count[best]++] = e;
    has[best * E + e] = 1;
    const ro = best * K;
    for (let k = 0; k < K; k++) {
      load[ro + k] += hn[eo + k] * inv;
      if (load[ro + k] > peak[k]) peak[k] = load[ro + k];
    }
  }
  return repairDuplicates(row, S);
}

export interface SearchLimits {
  /** Cost of one transfer in units of F; 0 when the map in service does not matter. */
  readonly lambda: number;
  readonly maxMoves: number;
  /** Bottleneck ranks examined per move. */
  readonly ranks?: number;
  /** Redundant slots (coldest replicas) considered as donors for a new replica. */
  readonly donors?: number;
  /**
   * Weight of the spread V = Σ_k w_k · mean_r load² next to F: lets the search flatten a plateau
   * of equally loaded peak ranks (where no single move lowers the peak) instead of stopping.
   */
  readonly spread?: number;
  /** Swap partners are taken from this many least-loaded ranks (default all up to 16, else R/4). */
  readonly partners?: number;
  /**
   * Called after each move is applied: a walk records the maps it passes in one search, instead
   * of restarting the search (its scratch arrays, its compiled loop) for every move.
   */
  readonly onMove?: () => void;
  /** Asked after each move: true ends the search there (a walk past its transfer budget). */
  readonly stop?: () => boolean;
  /** Receives, per map searched, the candidate moves met and the move made (see WalkRecord). */
  readonly record?: WalkRecord;
  /**
   * An earlier walk from the same map at another price: its moves are repeated without a scan for
   * as long as this search's price picks the same move among the candidates it recorded there.
   */
  readonly follow?: WalkRecord;
}

/**
 * The candidates of one walk, map by map: walks of one frontier start from the same map at
 * different prices per transfer, and a candidate's gain is its gain before any price less the price
 * times its change of transfers — so at a map two walks share, one scan tells both which move each
 * makes. A walk that follows another's record makes the same move while its price agrees, and
 * stops following at the first map where it does not (from there its maps are its own).
 */
export class WalkRecord {
  /** Per map of the walk, where its candidates are in the lists below: [start, end). */
  readonly from: number[] = [];
  readonly to: number[] = [];
  /** The move made at each map (kind 0: none; 1 swap p, q; 2 retarget slot p to expert q). */
  readonly kind: number[] = [];
  readonly p: number[] = [];
  readonly q: number[] = [];
  /** Candidates in the order the scan met them: gain before the price, change of transfers, move. */
  base: Float64Array;
  dt: Int8Array;
  ck: Uint8Array;
  cp: Int32Array;
  cq: Int32Array;
  n = 0;

  /** `capacity`: candidates held before the lists grow (they double). */
  constructor(capacity = 1024) {
    this.base = new Float64Array(capacity);
    this.dt = new Int8Array(capacity);
    this.ck = new Uint8Array(capacity);
    this.cp = new Int32Array(capacity);
    this.cq = new Int32Array(capacity);
  }

  add(base: number, dt: number, kind: number, p: number, q: number): void {
    if (this.n === this.base.length) this.grow();
    const i = this.n++;
    this.base[i] = base; this.dt[i] = dt; this.ck[i] = kind; this.cp[i] = p; this.cq[i] = q;
  }

  /** Ends the map's candidates (from `start`) with the move made there. */
  close(start: number, kind: number, p: number, q: number): void {
    this.from.push(start); this.to.push(this.n);
    this.kind.push(kind); this.p.push(p); this.q.push(q);
  }

  /** The map `step` of `other` taken as this walk's own (the two walks are at the same map). */
  share(other: WalkRecord, step: number, kind: number, p: number, q: number): void {
    const start = this.n;
    for (let i = other.from[step]; i < other.to[step]; i++) this.add(other.base[i], other.dt[i], other.ck[i], other.cp[i], other.cq[i]);
    this.close(start, kind, p, q);
  }

  private grow(): void {
    const n = this.base.length * 2;
    const base = new Float64Array(n), dt = new Int8Array(n), ck = new Uint8Array(n), cp = new Int32Array(n), cq = new Int32Array(n);
    base.set(this.base); dt.set(this.dt); ck.set(this.ck); cp.set(this.cp); cq.set(this.cq);
    this.base = base; this.dt = dt; this.ck = ck; this.cp = cp; this.cq = cq;
  }
}

/**
 * Best-improvement local search on F − λ·transfers. Moves, all around the ranks that set the
 * per-episode peaks: swap a slot of a bottleneck rank with any slot of another rank; give a
 * redundant slot elsewhere (the coldest replicas) to an expert of the bottleneck rank; give a
 * redundant slot of the bottleneck rank to a cold expert. Experts never gain a second replica on
 * a rank. Returns the number of moves applied.
 *
 * The search is a short loop over small steps (MoveScan's methods) rather than one function: a
 * one-shot `eplb plan` process runs it cold, and V8 optimises a small function sooner and in a
 * fraction of the time it takes for one that inlines every scan; the caller's onMove (a closure
 * per walk) is called from the short loop, whose recompilation when a new closure comes is cheap.
 */
export function localSearch(st: PlacementState, limits: SearchLimits): number {
  const scan = new MoveScan(st, limits);
  const follow = limits.follow;
  let following = follow !== undefined;
  let moves = 0;
  for (; moves < limits.maxMoves; moves++) {
    if (following && moves < follow!.kind.length) {
      // the same map as the followed walk here: its candidates name this walk's move too
      following = scan.pickRecorded(follow!, moves);
    } else {
      following = false;
      scan.pickBottlenecks();
      scan.pickPartners();
      scan.pickDonors();
      scan.findBest();
    }
    if (!scan.found()) break;
    scan.applyBest();
    limits.onMove?.();
    if (limits.stop?.()) return moves + 1;
  }
  return moves;
}

/** One local search's scratch and its steps: where to look, the best move there, applying it. */
class MoveScan {
  private readonly lambda: number;
  private readonly beta: number;
  private readonly tie: number;
  private readonly nRanks: number;
  private readonly nDonors: number;
  private readonly nPartners: number;
  private readonly score: Float64Array;
  private readonly bottleneck: Int32Array;
  private readonly donorList: Int32Array;
  private readonly donorKey: Float64Array;
  private readonly partner: Uint8Array;
  private readonly wload: Float64Array;
  private readonly pick: Int32Array;
  private readonly record: WalkRecord | undefined;
  private nb = 0;
  private dcount = 0;
  private bestGain = 0;
  private bestKind = 0;
  private bestP = -1;
  private bestQ = -1;

  constructor(
    private readonly st: PlacementState,
    limits: SearchLimits,
  ) {
    const { R, P } = st.pb;
    // with no price on transfers (a walk along the frontier) they are not counted per candidate; a
    // price of 0 times a count of −1 would also be −0, which the compiled loop does not expect
    this.lambda = limits.lambda;
    this.beta = limits.spread ?? 0;
    this.tie = this.beta > 0 ? 1e-12 : -1e-12;
    this.nRanks = Math.min(limits.ranks ?? 3, R);
    this.nDonors = limits.donors ?? 24;
    this.score = new Float64Array(R);
    this.bottleneck = new Int32Array(this.nRanks);
    this.donorList = new Int32Array(Math.max(1, this.nDonors));
    this.donorKey = new Float64Array(P);
    this.nPartners = Math.min(R, limits.partners ?? (R <= 16 ? R : Math.max(16, R >> 2)));
    this.partner = new Uint8Array(R);
    this.wload = new Float64Array(R);
    this.pick = new Int32Array(Math.max(1, this.nPartners));
    this.record = limits.record;
  }

  /** Bottleneck ranks: the peak rank of each shot, then the ranks most above the mean (load 1). */
  pickBottlenecks(): void {
    const st = this.st;
    const { R, K, w } = st.pb;
    const score = this.score, bottleneck = this.bottleneck, nRanks = this.nRanks;
    score.fill(0);
    for (let r = 0; r < R; r++) {
      let v = 0;
      for (let k = 0; k < K; k++) {
        const x = st.load[r * K + k] - 1;
        if (x > 0) v += w[k] * x * x;
      }
      score[r] = v;
    }
    for (let k = 0; k < K; k++) score[st.arg1[k]] += 1e6 * w[k];
    let nb = 0;
    for (let i = 0; i < nRanks; i++) {
      let best = -1;
      for (let r = 0; r < R; r++) {
        if (score[r] <= 0) continue;
        let taken = false;
        for (let j = 0; j < nb; j++) if (bottleneck[j] === r) taken = true;
        if (!taken && (best < 0 || score[r] > score[best])) best = r;
      }
      if (best < 0) break;
      bottleneck[nb++] = best;
    }
    this.nb = nb;
  }

  /** Swap partners: the least-loaded ranks (weighted over shots). */
  pickPartners(): void {
    const st = this.st;
    const { R, K, w } = st.pb;
    const nPartners = this.nPartners, partner = this.partner;
    if (nPartners >= R) {
      partner.fill(1);
      return;
    }
    const wload = this.wload, pick = this.pick;
    for (let r = 0; r < R; r++) {
      let v = 0;
      for (let k = 0; k < K; k++) v += w[k] * st.load[r * K + k];
      wload[r] = v;
    }
    partner.fill(0);
    let np = 0;
    for (let r = 0; r < R; r++) {
      // insertion into the nPartners smallest
      let i = np < nPartners ? np++ : nPartners;
      if (i === nPartners && wload[r] >= wload[pick[nPartners - 1]]) continue;
      if (i === nPartners) i = nPartners - 1;
      while (i > 0 && wload[pick[i - 1]] > wload[r]) {
        pick[i] = pick[i - 1];
        i--;
      }
      pick[i] = r;
    }
    for (let i = 0; i < np; i++) partner[pick[i]] = 1;
  }

  /** Donor slots: replicas of experts with ≥ 2 replicas, the cheapest to give up first. */
  pickDonors(): void {
    const st = this.st;
    const { P, hsum } = st.pb;
    const nDonors = this.nDonors, donorList = this.donorList, donorKey = this.donorKey;
    let dcount = 0;
    for (let p = 0; p < P; p++) {
      const e = st.slot[p];
      if (st.reps[e] < 2) continue;
      const key = hsum[e] / st.reps[e] - hsum[e] / (st.reps[e] - 1);
      donorKey[p] = key;
      let i = dcount < nDonors ? dcount++ : nDonors;
      if (i === nDonors && key <= donorKey[donorList[nDonors - 1]]) continue;
      if (i === nDonors) i = nDonors - 1;
      while (i > 0 && donorKey[donorList[i - 1]] < key) {
        donorList[i] = donorList[i - 1];
        i--;
      }
      donorList[i] = p;
    }
    this.dcount = dcount;
  }

  /**
   * The best move around the bottleneck ranks (bestKind 1: swap bestP, bestQ; 2: retarget slot
   * bestP to expert bestQ), or false when none gains. Candidates are met in one fixed order and a
   * later one wins only with a strictly larger gain.
   */
  findBest(): boolean {
    const st = this.st;
    const S = st.pb.S;
    const start = this.record ? this.record.n : 0;
    this.bestGain = 1e-9;
    this.bestKind = 0;
    this.bestP = -1;
    this.bestQ = -1;
    for (let i = 0; i < this.nb; i++) {
      const r1 = this.bottleneck[i];
      for (let p = r1 * S; p < r1 * S + S; p++) {
        this.scanSwaps(p, r1);
        this.scanDonors(p, r1);
        // this redundant slot to an expert that needs a replica more elsewhere is covered by the
        // donor move from the other side; here: this slot to the coldest experts (sheds load)
        if (st.reps[st.slot[p]] >= 2) this.scanShedding(p, r1);
      }
    }
    this.record?.close(start, this.bestKind, this.bestP, this.bestQ);
    return this.bestKind !== 0;
  }

  /** Whether the last scan (or recorded map) found a move that gains. */
  found(): boolean {
    return this.bestKind !== 0;
  }

  /**
   * The best move at map `step` of the walk `follow` recorded, at this search's price, from the
   * candidates recorded there: the same comparisons in the same order as findBest's. True when it is
   * the move that walk made (the two walks are then at the same map again).
   */
  pickRecorded(follow: WalkRecord, step: number): boolean {
    const lambda = this.lambda;
    this.bestGain = 1e-9;
    this.bestKind = 0;
    this.bestP = -1;
    this.bestQ = -1;
    for (let i = follow.from[step]; i < follow.to[step]; i++) {
      const gain = follow.base[i] - (lambda !== 0 ? lambda * follow.dt[i] : 0);
      if (gain > this.bestGain) {
        this.bestGain = gain; this.bestKind = follow.ck[i]; this.bestP = follow.cp[i]; this.bestQ = follow.cq[i];
      }
    }
    this.record?.share(follow, step, this.bestKind, this.bestP, this.bestQ);
    return this.bestKind === follow.kind[step] && this.bestP === follow.p[step] && this.bestQ === follow.q[step];
  }

  /** Slot p of bottleneck rank r1 swapped with any slot of a partner rank. */
  private scanSwaps(p: number, r1: number): void {
    const st = this.st;
    const { E, S, P } = st.pb;
    const partner = this.partner, lambda = this.lambda, beta = this.beta, tie = this.tie, record = this.record;
    const a = st.slot[p];
    for (let q = 0; q < P; q++) {
      const r2 = (q / S) | 0;
      if (r2 === r1 || partner[r2] === 0) {
        q = r2 * S + S - 1;
        continue;
      }
      const b = st.slot[q];
      if (b === a || st.cnt[r1 * E + b] > 0 || st.cnt[r2 * E + a] > 0) continue;
      const dF = st.evalSwap(p, q, beta > 0);
      if (dF >= tie) continue;
      const base = -dF - beta * st.lastDV;
      const dt = lambda !== 0 || record ? st.swapTransfers(p, q) : 0;
      if (record) record.add(base, dt, 1, p, q);
      const gain = base - (lambda !== 0 ? lambda * dt : 0);
      if (gain > this.bestGain) {
        this.bestGain = gain; this.bestKind = 1; this.bestP = p; this.bestQ = q;
      }
    }
  }

  /** One more replica of slot p's expert: taken from a cold redundant replica on another rank. */
  private scanDonors(p: number, r1: number): void {
    const st = this.st;
    const { E, S } = st.pb;
    const donorList = this.donorList, lambda = this.lambda, beta = this.beta, tie = this.tie, record = this.record;
    const a = st.slot[p];
    for (let j = 0; j < this.dcount; j++) {
      const q = donorList[j];
      const r2 = (q / S) | 0;
      if (r2 === r1 || st.slot[q] === a || st.cnt[r2 * E + a] > 0) continue;
      if (st.screenRetarget(q, a, r1) >= tie) continue;
      const dF = st.evalRetarget(q, a, beta > 0);
      if (dF >= tie) continue;
      const base = -dF - beta * st.lastDV;
      const dt = lambda !== 0 || record ? st.retargetTransfers(q, a) : 0;
      if (record) record.add(base, dt, 2, q, a);
      const gain = base - (lambda !== 0 ? lambda * dt : 0);
      if (gain > this.bestGain) {
        this.bestGain = gain; this.bestKind = 2; this.bestP = q; this.bestQ = a;
      }
    }
  }

  /** Redundant slot p of bottleneck rank r1 given to one of the coldest experts. */
  private scanShedding(p: number, r1: number): void {
    const st = this.st;
    const E = st.pb.E;
    const donorList = this.donorList, lambda = this.lambda, beta = this.beta, tie = this.tie, record = this.record;
    const a = st.slot[p];
    for (let j = 0; j < this.dcount; j++) {
      const b = st.slot[donorList[j]];
      if (b === a || st.cnt[r1 * E + b] > 0) continue;
      if (st.screenRetarget(p, b, r1) >= tie) continue;
      const dF = st.evalRetarget(p, b, beta > 0);
      if (dF >= tie) continue;
      const base = -dF - beta * st.lastDV;
      const dt = lambda !== 0 || record ? st.retargetTransfers(p, b) : 0;
      if (record) record.add(base, dt, 2, p, b);
      const gain = base - (lambda !== 0 ? lambda * dt : 0);
      if (gain > this.bestGain) {
        this.bestGain = gain; this.bestKind = 2; this.bestP = p; this.bestQ = b;
      }
    }
  }

  applyBest(): void {
    if (this.bestKind === 1) this.st.applySwap(this.bestP, this.bestQ);
    else this.st.applyRetarget(this.bestP, this.bestQ);
  }
}

export { EPS };
