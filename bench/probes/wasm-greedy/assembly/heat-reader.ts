/**
 * The heat array of a heat file read from its bytes inside the module, for the plain form of
 * whole counts only: `[[[int, …], …], …]`, every number at most 15 digits (summed exactly, below
 * 2^53: the value JSON.parse gives), no leading zero, every episode L layers of E. Anything else
 * (a fraction, an exponent, a sign, a ragged array) answers −1 and the caller reads the file
 * with the domain's reader instead, so what this accepts reads to the same numbers.
 */

/**
 * The file's bytes (written by the caller at `bytes.dataStart`), then one 0: every loop below
 * stops at a byte that is no digit, space, bracket or comma, so the 0 ends each one without a
 * bounds check per byte.
 */
export let bytes: Uint8Array = new Uint8Array(0);
/** Episodes, layers, experts of the heat scanned last. */
export let heatK: i32 = 0, heatL: i32 = 0, heatE: i32 = 0;

const OPEN: u8 = 0x5b, CLOSE: u8 = 0x5d, COMMA: u8 = 0x2c, ZERO: u8 = 0x30, NINE: u8 = 0x39;

export function newBytes(n: i32): usize {
  bytes = new Uint8Array(n + 1);
  return bytes.dataStart;
}

// `base` is bytes.dataStart, held in a local by the caller: a byte is one load
@inline function at(base: usize, i: i32): u8 {
  return load<u8>(base + <usize>i);
}

@inline function skipSpace(base: usize, i: i32): i32 {
  let c = at(base, i);
  while (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) c = at(base, ++i);
  return i;
}

/**
 * The shape of `[[[…]]]` from `i` by its brackets and commas alone, into heatK/heatL/heatE
 * (episodes, the first episode's layers, its first layer's numbers): what readHeat's buffer
 * needs; readHeat checks the rest. The index after it, or −1.
 */
export function scanShape(i: i32): i32 {
  const base = bytes.dataStart;
  if (i >= bytes.length || at(base, i) != OPEN) return -1;
  let depth = 0, K = 0, L = 0, E = 1;
  for (;;) {
    const c = at(base, i++);
    if (c == OPEN) {
      depth++;
      if (depth == 2) K++;
      else if (depth == 3 && K == 1) L++;
      else if (depth > 3) return -1;
    } else if (c == CLOSE) {
      if (--depth == 0) break;
    } else if (c == COMMA) {
      if (depth == 3 && K == 1 && L == 1) E++;
    } else if (c == 0) return -1;
  }
  heatK = K;
  heatL = L;
  heatE = E;
  return i;
}

/**
 * Reads `[[[…]]]` from `i` into out as [episode][layer][expert]: the index after it, or −1 where
 * it is not the plain form of whole counts or not the shape out was made for (scanShape's).
 */
export function readHeat(i: i32, out: Float64Array): i32 {
  const cap = out.length, to = out.dataStart;
  const base = bytes.dataStart;
  if (i >= bytes.length) return -1;
  if (at(base, i) != OPEN) return -1;
  i = skipSpace(base, i + 1);
  let k = 0, L = 0, E = 0, n = 0;
  for (;;) {
    if (at(base, i) != OPEN) return -1;
    i = skipSpace(base, i + 1);
    let l = 0;
    for (;;) {
      if (at(base, i) != OPEN) return -1;
      i = skipSpace(base, i + 1);
      let e = 0;
      for (;;) {
        let c = at(base, i);
        if (c < ZERO || c > NINE) return -1;
        const start = i;
        let v: u64 = <u64>(c - ZERO);
        c = at(base, ++i);
        if (v == 0 && c >= ZERO && c <= NINE) return -1;
        while (c >= ZERO && c <= NINE) {
          v = v * 10 + <u64>(c - ZERO);
          c = at(base, ++i);
        }
        if (i - start > 15) return -1;
        if (n >= cap) return -1;
        store<f64>(to + (<usize>n << 3), <f64>v);
        n++;
        e++;
        i = skipSpace(base, i);
        c = at(base, i);
        if (c == COMMA) {
          i = skipSpace(base, i + 1);
          continue;
        }
        if (c != CLOSE) return -1;
        break;
      }
      if (k == 0 && l == 0) E = e;
      else if (e != E) return -1;
      l++;
      i = skipSpace(base, i + 1);
      const c = at(base, i);
      if (c == COMMA) {
        i = skipSpace(base, i + 1);
        continue;
      }
      if (c != CLOSE) return -1;
      break;
    }
    if (k == 0) L = l;
    else if (l != L) return -1;
    k++;
    i = skipSpace(base, i + 1);
    const c = at(base, i);
    if (c == COMMA) {
      i = skipSpace(base, i + 1);
      continue;
    }
    if (c != CLOSE) return -1;
    return k == heatK && L == heatL && E == heatE && n == cap ? i + 1 : -1;
  }
}
