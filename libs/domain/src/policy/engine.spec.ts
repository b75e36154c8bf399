import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LayerProblem, PlacementState } from './engine';
import { localSearch } from './search';

/**
 * The search prices every candidate move by a delta (evalSwap, evalRetarget: only the ranks the
 * move touches, the other ranks' peak from the per-episode top three or, when all three are
 * touched, a scan); these properties hold each delta to the same figures computed from scratch on
 * the map after the move.
 */

interface Case {
  readonly pb: LayerProblem;
  readonly row: number[];
  readonly original: number[];
}

/** V = Σ_k w_k · Σ_r load² / R: the spread the search weighs next to F. */
function spread(st: PlacementState): number {
  const { R, K, w } = st.pb;
  let v = 0;
  for (let k = 0; k < K; k++) for (let r = 0; r < R; r++) v += (w[k] * st.load[r * K + k] ** 2) / R;
  return v;
}

/**
 * A move's evaluated change of F, V and transfers equals the change recomputed from scratch on
 * the map after it (`next`), and the state the move is applied to is the state built from `next`.
 */
function expectMoveAsRecomputed(
  pb: LayerProblem,
  row: number[],
  original: ArrayLike<number>,
  next: number[],
  evaluate: (st: PlacementState) => { dF: number; dV: number; dT: number },
  apply: (st: PlacementState) => void,
): void {
  const st = new PlacementState(pb, row, original);
  const { dF, dV, dT } = evaluate(st);
  const fresh = new PlacementState(pb, next, original);
  expect(dF).toBeCloseTo(fresh.objective() - st.objective(), 9);
  expect(dV).toBeCloseTo(spread(fresh) - spread(st), 9);
  expect(dT).toBe(fresh.transfers - st.transfers);
  apply(st);
  expect(Array.from(st.slot)).toEqual(next);
  expect(st.objective()).toBeCloseTo(fresh.objective(), 9);
  expect(st.transfers).toBe(fresh.transfers);
}

/** A map of E experts on R·S slots: every expert once, the rest of the slots any expert, shuffled. */
const layerCase: fc.Arbitrary<Case> = fc
  .record({ R: fc.integer({ min: 2, max: 6 }), S: fc.integer({ min: 1, max: 3 }), K: fc.integer({ min: 1, max: 4 }) })
  .chain(({ R, S, K }) =>
    // half the cases with only two or three experts, replicated on most ranks: a retarget then
    // touches every one of an episode's top three ranks, and the others' peak is found by a scan
    fc.oneof(fc.integer({ min: 2, max: Math.min(3, R * S) }), fc.integer({ min: 2, max: R * S })).chain((E) =>
      fc.record({
        R: fc.constant(R),
        S: fc.constant(S),
        K: fc.constant(K),
        E: fc.constant(E),
        // counts with ties and zeros (an all-zero episode among them)
        heat: fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: E, maxLength: E }), { minLength: K, maxLength: K }),
        weights: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: K, maxLength: K }),
        extra: fc.array(fc.integer({ min: 0, max: E - 1 }), { minLength: R * S - E, maxLength: R * S - E }),
        order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: R * S, maxLength: R * S }),
        originalOrder: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: R * S, maxLength: R * S }),
      }),
    ),
  )
  .map(({ R, S, K, E, heat, weights, extra, order, originalOrder }) => {
    const total = weights.reduce((a, b) => a + b, 0);
    const w = Float64Array.from(weights, (x) => x / total);
    const pb = new LayerProblem(E, R, S, K, heat.map((h) => Float64Array.from(h)), w);
    const items = [...Array.from({ length: E }, (_, e) => e), ...extra];
    const shuffle = (keys: number[]): number[] => items.map((e, i) => [keys[i], i, e]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
    return { pb, row: shuffle(order), original: shuffle(originalOrder) };
  });

describe('PlacementState deltas', () => {
  it('evalSwap and swapTransfers equal the change of F, V and transfers recomputed from scratch', () => {
    fc.assert(
      fc.property(layerCase, fc.nat(), fc.nat(), ({ pb, row, original }, i, j) => {
        const P = pb.P;
        const p = i % P;
        const q = j % P;
        // slots of two ranks holding two experts (the search never swaps an expert with itself)
        fc.pre(Math.floor(p / pb.S) !== Math.floor(q / pb.S) && row[p] !== row[q]);
        const next = [...row];
        next[p] = row[q];
        next[q] = row[p];
        expectMoveAsRecomputed(pb, row, original, next, (st) => ({ dF: st.evalSwap(p, q, true), dV: st.lastDV, dT: st.swapTransfers(p, q) }), (st) => st.applySwap(p, q));
      }),
      { numRuns: 400 },
    );
  });

  it('evalRetarget and retargetTransfers equal the change of F, V and transfers recomputed from scratch', () => {
    fc.assert(
      fc.property(layerCase, fc.nat(), fc.nat(), ({ pb, row, original }, i, j) => {
        const reps = new Int32Array(pb.E);
        for (const e of row) reps[e]++;
        // a slot whose expert has a second replica, given to another expert
        const donors = row.flatMap((e, p) => (reps[e] >= 2 ? [p] : []));
        fc.pre(donors.length > 0);
        const p = donors[i % donors.length];
        const b = (row[p] + 1 + (j % (pb.E - 1))) % pb.E;
        const next = [...row];
        next[p] = b;
        expectMoveAsRecomputed(pb, row, original, next, (st) => ({ dF: st.evalRetarget(p, b, true), dV: st.lastDV, dT: st.retargetTransfers(p, b) }), (st) => st.applyRetarget(p, b));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('localSearch', () => {
  it('lowers F + λ·transfers with every move it applies and leaves a state that matches its map', () => {
    fc.assert(
      fc.property(layerCase, fc.constantFrom(0, 0.001, 0.05), ({ pb, row, original }, lambda) => {
        const st = new PlacementState(pb, row, original);
        const seen: number[] = [st.objective() + lambda * st.transfers];
        const moves = localSearch(st, { lambda, maxMoves: 2 * pb.P, ranks: 3, donors: 8, onMove: () => seen.push(st.objective() + lambda * st.transfers) });
        expect(seen).toHaveLength(moves + 1);
        for (let m = 1; m < seen.length; m++) expect(seen[m]).toBeLessThan(seen[m - 1]);
        const fresh = new PlacementState(pb, st.slot, original);
        expect(st.objective()).toBeCloseTo(fresh.objective(), 9);
        expect(st.transfers).toBe(fresh.transfers);
        // every expert keeps a replica
        expect(new Set(st.slot).size).toBe(pb.E);
      }),
      { numRuns: 200 },
    );
  });
});
