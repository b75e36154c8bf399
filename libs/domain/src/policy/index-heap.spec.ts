import { describe, expect, it } from 'vitest';
import { IndexHeap } from './index-heap';

describe('IndexHeap', () => {
  it('pops ids in the order of their keys, ties to the lower id, and re-sifts a changed top', () => {
    const key = Float64Array.from([5, 1, 5, 3, 0, 9, 3]);
    const heap = new IndexHeap(key.length, key);
    for (let i = 0; i < key.length; i++) heap.push(i);
    expect(heap.top()).toBe(5);
    key[5] = 2; // the top's key fell: it sinks below 0, 2, 3 and 6
    heap.siftTop();
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop());
    expect(out).toEqual([0, 2, 3, 6, 5, 1, 4]);
  });

  it('pops the smallest key first with smallestFirst, ties to the lower id', () => {
    const key = Float64Array.from([5, 1, 5, 3, 0, 9, 3]);
    const heap = new IndexHeap(key.length, key, true);
    for (let i = key.length - 1; i >= 0; i--) heap.push(i);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop());
    expect(out).toEqual([4, 1, 3, 6, 0, 2, 5]);
  });
});
