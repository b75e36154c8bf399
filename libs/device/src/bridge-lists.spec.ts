import { describe, expect, it } from 'vitest';
import { DeploymentShape, planRollout } from '@eplb/domain';
import { bridgeLists } from './bridge-lists';

const shape: DeploymentShape = { numLayers: 3, numExperts: 16, numRanks: 8, slotsPerRank: 3, numNodes: 2 };
const P = shape.numRanks * shape.slotsPerRank;

/** A random row holding every expert at least once. */
function row(seed: number): number[] {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % shape.numExperts;
  const r = Array.from({ length: P }, (_, p) => (p < shape.numExperts ? p : next()));
  for (let i = r.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [r[i], r[j]] = [r[j], r[i]];
  }
  return r;
}

describe('bridgeLists', () => {
  it('every send one rank posts is a receive another rank posts, and each rank ends up with exactly the new row', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const current = Array.from({ length: shape.numLayers }, (_, l) => row(seed * 7 + l));
      const target = Array.from({ length: shape.numLayers }, (_, l) => row(seed * 13 + l + 100));
      const plan = planRollout({ rolloutId: 'r', deployment: 'd', shape, fromVersion: 1, toVersion: 2, current, target, expertBytes: 1 });
      for (const pl of plan.layers) {
        const all = new Map(pl.forward.flatMap((part) => [...bridgeLists(shape, part).entries()]));
        expect([...all.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: shape.numRanks }, (_, r) => r));
        const sends = [...all.entries()].flatMap(([from, l]) => l.send.map((s) => `${from}->${s.to}:${s.slot}:${s.expert}`)).sort();
        const recvs = [...all.entries()].flatMap(([to, l]) => l.recv.map((r) => `${r.source}->${to}:${r.slot}:${r.expert}`)).sort();
        expect(sends).toEqual(recvs);
        // what each rank holds afterwards: its old row, overwritten by its local copies and receives
        const cur = current[pl.layer];
        const after = cur.slice();
        for (const [rank, l] of all) {
          for (const s of l.send) expect(cur.slice(rank * 3, rank * 3 + 3)).toContain(s.expert); // a sender holds what it sends
          for (const w of [...l.local, ...l.recv]) after[w.slot] = w.expert;
          for (const c of l.local) {
            // a local copy's source is on the rank: held now, or arriving there in this transfer
            const mine = cur.slice(rank * 3, rank * 3 + 3);
            expect(mine.includes(c.expert) || l.recv.some((r) => r.expert === c.expert)).toBe(true);
          }
        }
        expect(after).toEqual(target[pl.layer]);
      }
    }
  });
});
