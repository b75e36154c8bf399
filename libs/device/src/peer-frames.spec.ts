import { describe, expect, it } from 'vitest';
import { encodeFetch, encodeRefused, encodeWeights, FETCH, PeerFrameReader, REFUSED, WEIGHTS } from './peer-frames';

describe('peer frames', () => {
  it('reassemble fetches and answers split and merged at any byte', () => {
    const items = [
      { rank: 3, expert: 17 },
      { rank: 63, expert: 255 },
    ];
    const all = Buffer.concat([encodeFetch(1, 57, items), encodeWeights(2, [Buffer.from('abc'), Buffer.from('def')]), encodeRefused(3, 'rank 9 is not served'), encodeWeights(4, [Buffer.alloc(1000, 7)])]);
    for (const cut of [1, 3, 4, 5, 9, 50, all.length]) {
      const r = new PeerFrameReader();
      const got = [];
      for (let i = 0; i < all.length; i += cut) got.push(...r.push(all.subarray(i, i + cut)));
      expect(got.map((f) => [f.kind, f.id])).toEqual([
        [FETCH, 1],
        [WEIGHTS, 2],
        [REFUSED, 3],
        [WEIGHTS, 4],
      ]);
      expect(got[0]).toEqual({ kind: FETCH, id: 1, layer: 57, items });
      expect(got[1].kind === WEIGHTS && got[1].body.toString()).toBe('abcdef');
      expect(got[2].kind === REFUSED && got[2].error).toBe('rank 9 is not served');
      expect(got[3].kind === WEIGHTS && got[3].body.equals(Buffer.alloc(1000, 7))).toBe(true);
    }
  });

  it('an answer\'s body is its own copy, not a view of the read chunk', () => {
    const chunk = encodeWeights(1, [Buffer.from('xyz')]);
    const [f] = new PeerFrameReader().push(chunk);
    chunk.fill(0);
    expect(f.kind === WEIGHTS && f.body.toString()).toBe('xyz');
  });

  it('rejects malformed streams and values that do not fit the frame', () => {
    const tooShort = Buffer.from([0, 0, 0, 2, 1, 0]);
    expect(() => new PeerFrameReader().push(tooShort)).toThrow(/malformed peer frame/);
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    expect(() => new PeerFrameReader().push(huge)).toThrow(/malformed peer frame/);
    const unknown = Buffer.from([0, 0, 0, 5, 9, 0, 0, 0, 1]);
    expect(() => new PeerFrameReader().push(unknown)).toThrow(/kind 9/);
    const badCount = encodeFetch(1, 0, [{ rank: 0, expert: 0 }]);
    badCount.writeUInt32BE(2, 13);
    expect(() => new PeerFrameReader().push(badCount)).toThrow(/fetch of 2 items/);
    expect(() => encodeFetch(1, -1, [])).toThrow(/layer -1/);
    expect(() => encodeFetch(1, 0, [{ rank: 0.5, expert: 0 }])).toThrow(/rank 0.5/);
  });
});
