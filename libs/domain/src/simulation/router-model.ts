import { invalid } from '../errors';
import { Prng } from './prng';

/**
 * How the load moves over steps. Kinds are mixable: `['alternating', 'drift', 'spikes']` rotates
 * the hot set slowly inside each alternating phase and adds spikes on top. `stationary` alone means
 * a fixed popularity with noise only.
 */
export const SCENARIO_KINDS = ['stationary', 'drift', 'alternating', 'spikes'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

export interface RouterModelOptions {
  readonly numLayers: number;
  readonly numExperts: number;
  /** Tokens routed per step (over the whole deployment); each picks `topK` distinct experts. */
  readonly tokensPerStep: number;
  readonly topK: number;
  readonly seed: number;
  readonly scenarios?: readonly ScenarioKind[];
  /** Popularity of the expert ranked j (0-based) ∝ (j + 1)^-zipfExponent. Default 0.5. */
  readonly zipfExponent?: number;
  /** σ of a multiplicative log-normal jitter per expert per step (batch-to-batch noise). Default 0.1. */
  readonly noise?: number;
  /** alternating: steps per phase (hot set switches after each). Default 16. */
  readonly phaseSteps?: number;
  /** alternating: number of hot sets cycled through. Default 2. */
  readonly numHotSets?: number;
  /** drift: steps for the popularity ranking to move on by one expert. Default 64. */
  readonly driftSteps?: number;
  /** spikes: probability per layer per step that a random expert starts a spike. Default 0.05. */
  readonly spikeRate?: number;
  /** spikes: how many steps a spike lasts. Default 8. */
  readonly spikeSteps?: number;
  /** spikes: a spiking expert's popularity, in multiples of the mean expert's. Default 12. */
  readonly spikeFactor?: number;
}

/**
 * A deterministic model of MoE routing: per layer and step, how many of the step's
 * `tokensPerStep × topK` token-to-expert picks land on each logical expert.
 *
 * Per layer, experts get Zipf-like popularity over a seeded random order (a different order per
 * layer and per alternating hot set); scenario dynamics move that order; counts are drawn around
 * their expectation with Poisson noise (no per-token loop) and rescaled with cumulative rounding,
 * so every layer's counts are non-negative integers summing to exactly `tokensPerStep × topK`.
 * A share is capped at 1/topK (a token picks an expert at most once), the excess spread over the
 * others.
 *
 * The model is sequential: `next()` returns step 0, 1, 2, ... of its own clock; the same options
 * (seed included) give the same sequence.
 */
export class RouterModel {
  readonly numLayers: number;
  readonly numExperts: number;
  readonly picksPerStep: number;
  private readonly o: Required<Omit<RouterModelOptions, 'scenarios'>>;
  private readonly drift: boolean;
  private readonly alternating: boolean;
  private readonly spikes: boolean;
  private readonly rng: Prng;
  /** zipf[j]: weight of the expert ranked j. */
  private readonly zipf: Float64Array;
  private readonly meanWeight: number;
  /** position[(h * L + l) * E + e]: rank of expert e in hot set h of layer l (before drift). */
  private readonly position: Int32Array;
  private readonly spikeUntil: Int32Array;
  private readonly weights: Float64Array;
  private t = 0;

  constructor(options: RouterModelOptions) {
    const o = {
      zipfExponent: 0.5,
      noise: 0.1,
      phaseSteps: 16,
      numHotSets: 2,
      driftSteps: 64,
      spikeRate: 0.05,
      spikeSteps: 8,
      spikeFactor: 12,
      ...options,
    };
    for (const k of ['numLayers', 'numExperts', 'topK', 'phaseSteps', 'numHotSets', 'driftSteps', 'spikeSteps'] as const) {
      if (!Number.isInteger(o[k]) || o[k] <= 0) throw invalid(k, `must be a positive integer, got ${String(o[k])}`);
    }
    if (!Number.isInteger(o.tokensPerStep) || o.tokensPerStep < 0) throw invalid('tokensPerStep', 'must be a non-negative integer');
    if (o.topK > o.numExperts) throw invalid('topK', `cannot exceed the ${o.numExperts} experts`);
    if (!Number.isInteger(o.seed)) throw invalid('seed', 'must be an integer');
    for (const k of ['zipfExponent', 'noise', 'spikeRate', 'spikeFactor'] as const) {
      if (!Number.isFinite(o[k]) || o[k] < 0) throw invalid(k, `must be a non-negative number, got ${String(o[k])}`);
    }
    const scenarios = options.scenarios ?? ['stationary'];
    for (const s of scenarios) if (!SCENARIO_KINDS.includes(s)) throw invalid('scenarios', `unknown scenario ${String(s)}`);
    const { scenarios: _ignored, ...rest } = o as typeof o & { scenarios?: unknown };
    this.o = rest;
    this.drift = scenarios.includes('drift');
    this.alternating = scenarios.includes('alternating');
    this.spikes = scenarios.includes('spikes');
    this.numLayers = o.numLayers;
    this.numExperts = o.numExperts;
    this.picksPerStep = o.tokensPerStep * o.topK;
    this.rng = new Prng(o.seed);

    const E = o.numExperts;
    const L = o.numLayers;
    this.zipf = new Float64Array(E);
    let sum = 0;
    for (let j = 0; j < E; j++) sum += this.zipf[j] = Math.pow(j + 1, -o.zipfExponent);
    this.meanWeight = sum / E;
    const H = this.alternating ? o.numHotSets : 1;
    this.position = new Int32Array(H * L * E);
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        const order = this.rng.permutation(E);
        const base = (h * L + l) * E;
        for (let j = 0; j < E; j++) this.position[base + order[j]] = j;
      }
    }
    this.spikeUntil = new Int32Array(L * E);
    this.weights = new Float64Array(E);
  }

  /** The step `next()` generates next (the model's own clock, from 0). */
  get step(): number {
    return this.t;
  }

  /** Which alternating hot set is in force at step t (0 when not alternating). */
  hotSetAt(t: number): number {
    return this.alternating ? Math.floor(t / this.o.phaseSteps) % this.o.numHotSets : 0;
  }

  /**
   * Counts of the next step: `out[l * E + e]` = picks of logical expert e in layer l. Writes into
   * `out` when given (length L·E) to spare allocations.
   */
  next(out: Int32Array = new Int32Array(this.numLayers * this.numExperts)): Int32Array {
    const { numLayers: L, numExperts: E } = this;
    if (out.length !== L * E) throw invalid('out', `must have ${L * E} entries`);
    const t = this.t++;
    const rng = this.rng;
    const w = this.weights;
    const zipf = this.zipf;
    const { noise, topK, spikeRate, spikeSteps, spikeFactor } = this.o;
    const offset = this.drift ? t / this.o.driftSteps : 0;
    const o0 = Math.floor(offset);
    const frac = offset - o0;
    const shift = o0 % E;
    const h = this.hotSetAt(t);
    const T = this.picksPerStep;
    const cap = 1 / topK;
    const jitterMean = -0.5 * noise * noise;
    const spikeWeight = spikeFactor * this.meanWeight;

    for (let l = 0; l < L; l++) {
      const pos = (h * L + l) * E;
      if (this.spikes && rng.next() < spikeRate) this.spikeUntil[l * E + rng.int(E)] = t + spikeSteps;
      let sum = 0;
      for (let e = 0; e < E; e++) {
        let j = this.position[pos + e] - shift;
        if (j < 0) j += E;
        let x = zipf[j];
        if (frac > 0) x = (1 - frac) * x + frac * zipf[j === 0 ? E - 1 : j - 1];
        if (this.spikes && this.spikeUntil[l * E + e] > t && x < spikeWeight) x = spikeWeight;
        if (noise > 0) x *= Math.exp(jitterMean + noise * rng.normal());
        w[e] = x;
        sum += x;
      }
      capShares(w, sum, cap);
      drawCounts(w, T, rng, out, l * E);
    }
    return out;
  }
}

/** Turns weights into shares (in place) with no share above `cap`, the excess spread pro rata. */
function capShares(w: Float64Array, sum: number, cap: number): void {
  const E = w.length;
  for (let e = 0; e < E; e++) w[e] /= sum;
  if (cap >= 1) return;
  // Water-filling: few iterations, usually none.
  for (let iter = 0; iter < E; iter++) {
    let capped = 0;
    let free = 0;
    let over = false;
    for (let e = 0; e < E; e++) {
      if (w[e] >= cap) {
        if (w[e] > cap * (1 + 1e-12)) over = true;
        w[e] = cap;
        capped += cap;
      } else free += w[e];
    }
    if (!over || free <= 0) return;
    const scale = (1 - capped) / free;
    for (let e = 0; e < E; e++) if (w[e] < cap) w[e] *= scale;
  }
}

/**
 * Integer counts around T·share with Poisson noise, rescaled to sum exactly T by cumulative
 * rounding (non-negative, no sort, O(E)).
 */
function drawCounts(share: Float64Array, T: number, rng: Prng, out: Int32Array, at: number): void {
  const E = share.length;
  let total = 0;
  for (let e = 0; e < E; e++) {
    const x = rng.poisson(T * share[e]);
    out[at + e] = x;
    total += x;
  }
  if (total === 0) {
    // Only when T is tiny: fall back to the expectation.
    for (let e = 0; e < E; e++) out[at + e] = 0;
    if (T > 0) {
      let acc = 0;
      let prev = 0;
      for (let e = 0; e < E; e++) {
        acc += T * share[e];
        const r = Math.round(acc);
        out[at + e] = r - prev;
        prev = r;
      }
      out[at + E - 1] += T - prev;
    }
    return;
  }
  const scale = T / total;
  let acc = 0;
  let prev = 0;
  for (let e = 0; e < E; e++) {
    acc += out[at + e] * scale;
    const r = e === E - 1 ? T : Math.round(acc);
    out[at + e] = r - prev;
    prev = r;
  }
}
