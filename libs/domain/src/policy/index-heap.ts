/**
 * A binary heap of small integer ids (experts, ranks) ordered by their keys in `key` — the largest
 * first, or the smallest with `smallestFirst` — ties to the lower id. The caller keeps the keys in
 * its own Float64Array and, after changing the key of the id on top, calls `siftTop()`: no
 * per-entry objects, which the planners' inner loops would otherwise allocate by the thousand per
 * layer, and no comparison callback, which the compiler could not inline where several orders
 * share the class.
 */
export class IndexHeap {
  private readonly ids: Int32Array;
  private n = 0;

  constructor(
    capacity: number,
    private readonly key: Float64Array,
    private readonly smallestFirst = false,
  ) {
    this.ids = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** The id that comes out first; only when `size > 0`. */
  top(): number {
    return this.ids[0];
  }

  /** Whether id a comes out before id b. */
  private before(a: number, b: number): boolean {
    const ka = this.key[a], kb = this.key[b];
    return (this.smallestFirst ? ka < kb : ka > kb) || (ka === kb && a < b);
  }

  push(id: number): void {
    const ids = this.ids;
    let i = this.n++;
    while (i > 0) {
      const j = (i - 1) >> 1;
      if (!this.before(id, ids[j])) break;
      ids[i] = ids[j];
      i = j;
    }
    ids[i] = id;
  }

  pop(): number {
    const top = this.ids[0];
    this.ids[0] = this.ids[--this.n];
    if (this.n > 0) this.siftTop();
    return top;
  }

  /** Restores the order after the top id's key changed (it can only have moved down). */
  siftTop(): void {
    const ids = this.ids;
    const x = ids[0];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.n) break;
      if (c + 1 < this.n && this.before(ids[c + 1], ids[c])) c++;
      if (!this.before(ids[c], x)) break;
      ids[i] = ids[c];
      i = c;
    }
    ids[i] = x;
  }
}
