import { PlacementState } from './engine';

/**
 * Brings the replica counts of a placement (started from the map in service) to `reps`, one slot
 * at a time, with as few transfers as that takes: each replica an expert lacks goes into a slot
 * of an expert that has one too many, on a rank that does not hold the lacking expert yet. Of
 * those slots the one whose rewrite raises the objective least is taken (the spread Σ load²
 * breaks ties), the experts that lack the most per-replica heat first. Every other slot keeps
 * its expert, so the transfers are about the number of replicas that change hands. `step`, when
 * given, is called after each slot rewritten (a frontier records every point on the way); its
 * answer true ends the adoption there (the frontier has reached a point nothing after it beats).
 */
export function adoptReplicaCounts(st: PlacementState, reps: ArrayLike<number>, spread: number, step?: () => boolean | void): void {
  const { E, S, P, hsum } = st.pb;
  for (;;) {
    // the expert lacking most: largest heat per replica among those below their count
    let a = -1;
    for (let e = 0; e < E; e++) {
      if (st.reps[e] >= reps[e]) continue;
      if (a < 0 || hsum[e] / st.reps[e] > hsum[a] / st.reps[a]) a = e;
    }
    if (a < 0) return;
    let best = Infinity, bp = -1;
    for (let p = 0; p < P; p++) {
      const d = st.slot[p];
      if (st.reps[d] <= reps[d] || st.reps[d] < 2) continue;
      const r = (p / S) | 0;
      if (st.cnt[r * E + a] > 0) continue;
      const score = st.evalRetarget(p, a, spread > 0) + spread * st.lastDV;
      if (score < best) {
        best = score;
        bp = p;
      }
    }
    // no rank can take it without a second replica on one rank: leave the counts as they are
    if (bp < 0) return;
    st.applyRetarget(bp, a);
    if (step?.() === true) return;
  }
}
