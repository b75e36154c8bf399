import { HeatEpisodes } from '../heat/heat';

/**
 * Huber's tuning constant in units of the noise's sd: the textbook choice, 95% as efficient as
 * the mean when the wandering is normal, while an episode far out (a burst) counts as if it were
 * only this far.
 */
const HUBER_K = 1.345;

/**
 * Each expert's location in a layer's episodes, as shares of the episode totals: a Huber
 * M-estimate (weighted by `w`, scale from the median absolute deviation about the median,
 * iteratively reweighted from the median). Where the experts wander by noise alone it is the mean
 * to within a few per cent of its own error; where an expert bursts in an episode or two, those
 * episodes weigh as if they lay HUBER_K sds out — what the next interval will see of the expert
 * is its location, not its bursts. Unlike a trimmed mean it throws no episode away, so it does
 * not lose the evidence of heat that is merely noisy.
 */
export function huberLevel(heat: HeatEpisodes, layer: number, w: ArrayLike<number>): Float64Array {
  const K = heat.length;
  const E = heat[0][layer].length;
  const inv = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let t = 0;
    const h = heat[k][layer];
    for (let e = 0; e < E; e++) t += h[e];
    inv[k] = t > 0 ? 1 / t : 0;
  }
  const out = new Float64Array(E);
  const x = new Float64Array(K);
  const dev = new Float64Array(K);
  for (let e = 0; e < E; e++) {
    let n = 0;
    for (let k = 0; k < K; k++) if (inv[k] > 0) x[n++] = heat[k][layer][e] * inv[k];
    if (n === 0) continue;
    const xs = x.slice(0, n).sort();
    let mu = n & 1 ? xs[n >> 1] : 0.5 * (xs[(n >> 1) - 1] + xs[n >> 1]);
    for (let i = 0; i < n; i++) dev[i] = Math.abs(xs[i] - mu);
    const ds = dev.slice(0, n).sort();
    const mad = n & 1 ? ds[n >> 1] : 0.5 * (ds[(n >> 1) - 1] + ds[n >> 1]);
    const c = HUBER_K * 1.4826 * mad;
    if (!(c > 0)) {
      // most episodes hold the very same share: the median, Huber's estimate as its scale goes to 0
      out[e] = mu;
      continue;
    }
    for (let it = 0; it < 20; it++) {
      let s = 0, ws = 0;
      for (let k = 0, i = 0; k < K; k++) {
        if (!(inv[k] > 0)) continue;
        const r = Math.abs(x[i] - mu);
        const hw = w[k] * (r <= c ? 1 : c / r);
        s += hw * x[i++];
        ws += hw;
      }
      const next = ws > 0 ? s / ws : mu;
      const done = Math.abs(next - mu) <= 1e-9 * c;
      mu = next;
      if (done) break;
    }
    out[e] = mu;
  }
  return out;
}
