import { measuredImbalance, WindowShape } from './window-shape';

/** One rank's report, already validated against the contract and the deployment. */
export interface RankHeat {
  readonly rank: number;
  readonly step: number;
  readonly steps: number;
  readonly mapVersion: number;
  /** Per-layer map version, or null when every layer is on mapVersion. */
  readonly layerVersions: readonly number[] | null;
  readonly tsMs: number;
  /** load[layer][local slot] */
  readonly load: readonly (readonly number[])[];
}

/** physical_to_logical of one layer under one map version. */
export type MapLookup = (version: number, layer: number) => ArrayLike<number>;

/** A finished episode: what the collector stores and policies plan from. */
export interface ClosedEpisode {
  readonly phase: string;
  readonly episode: number;
  readonly startStep: number;
  readonly endStep: number;
  /** [layer · P + slot] tokens routed to each physical slot */
  readonly slotLoad: Float64Array;
  /** [layer · E + expert] tokens attributed to each logical expert with the layer's map version */
  readonly logicalLoad: Float64Array;
  /** per layer, measured max/mean rank load under the map in force */
  readonly imbalance: Float64Array;
  /** per layer, the map version its events were under; 0 when mixed (a rollout inside the episode) */
  readonly layerVersions: Int32Array;
  /** ranks × steps received (bit r·K + i for step start+i) */
  readonly received: Uint8Array;
  readonly events: number;
  readonly lateEvents: number;
  readonly missingRanks: number[];
  readonly missingRankSteps: number;
  readonly firstTsMs: number;
  readonly lastTsMs: number;
  readonly closedBy: 'complete' | 'watermark';
}

export type Admission = 'new' | 'duplicate' | { conflict: string };

/**
 * Accumulates one (deployment, phase, episode). Idempotent per (rank, step): a report whose steps
 * were all counted is a duplicate; one that overlaps counted steps only in part is refused, since
 * counting it would count some steps twice.
 */
export class EpisodeAccumulator {
  readonly slotLoad: Float64Array;
  readonly logicalLoad: Float64Array;
  readonly layerVersions: Int32Array;
  readonly received: Uint8Array;
  private receivedCount = 0;
  events = 0;
  lateEvents = 0;
  firstTsMs = Number.POSITIVE_INFINITY;
  lastTsMs = 0;

  constructor(
    private readonly w: WindowShape,
    readonly phase: string,
    readonly episode: number,
  ) {
    const P = w.numRanks * w.slotsPerRank;
    this.slotLoad = new Float64Array(w.numLayers * P);
    this.logicalLoad = new Float64Array(w.numLayers * w.numExperts);
    this.layerVersions = new Int32Array(w.numLayers).fill(-1);
    this.received = new Uint8Array(Math.ceil((w.numRanks * w.episodeSteps) / 8));
  }

  /** Restores an episode from storage, to merge a late report into it. */
  static restore(w: WindowShape, stored: ClosedEpisode): EpisodeAccumulator {
    const acc = new EpisodeAccumulator(w, stored.phase, stored.episode);
    acc.slotLoad.set(stored.slotLoad);
    acc.logicalLoad.set(stored.logicalLoad);
    acc.layerVersions.set(stored.layerVersions);
    acc.received.set(stored.received);
    acc.receivedCount = w.numRanks * w.episodeSteps - stored.missingRankSteps;
    acc.events = stored.events;
    acc.lateEvents = stored.lateEvents;
    acc.firstTsMs = stored.firstTsMs;
    acc.lastTsMs = stored.lastTsMs;
    return acc;
  }

  get startStep(): number {
    return this.episode * this.w.episodeSteps;
  }

  get complete(): boolean {
    return this.receivedCount === this.w.numRanks * this.w.episodeSteps;
  }

  admit(h: RankHeat): Admission {
    const first = h.step - this.startStep;
    let seen = 0;
    for (let i = 0; i < h.steps; i++) if (this.bit(h.rank, first + i)) seen++;
    if (seen === 0) return 'new';
    if (seen === h.steps) return 'duplicate';
    return { conflict: `steps: [${h.step}, ${h.step + h.steps}) of rank ${h.rank} overlap ${seen} step(s) already counted` };
  }

  /** Adds a report admitted as 'new'. */
  add(h: RankHeat, map: MapLookup, late = false): void {
    const { numLayers: L, numExperts: E, numRanks: R, slotsPerRank: S } = this.w;
    const P = R * S;
    const first = h.step - this.startStep;
    for (let i = 0; i < h.steps; i++) this.setBit(h.rank, first + i);
    this.receivedCount += h.steps;
    for (let l = 0; l < L; l++) {
      const version = h.layerVersions ? h.layerVersions[l] : h.mapVersion;
      const row = map(version, l);
      const counts = h.load[l];
      const slotBase = l * P + h.rank * S;
      const logicalBase = l * E;
      for (let s = 0; s < S; s++) {
        const c = counts[s];
        this.slotLoad[slotBase + s] += c;
        this.logicalLoad[logicalBase + row[h.rank * S + s]] += c;
      }
      const known = this.layerVersions[l];
      this.layerVersions[l] = known === -1 || known === version ? version : 0;
    }
    this.events++;
    if (late) this.lateEvents++;
    if (h.tsMs < this.firstTsMs) this.firstTsMs = h.tsMs;
    if (h.tsMs > this.lastTsMs) this.lastTsMs = h.tsMs;
  }

  close(closedBy: 'complete' | 'watermark'): ClosedEpisode {
    const { numLayers: L, numRanks: R, slotsPerRank: S, episodeSteps: K } = this.w;
    const P = R * S;
    const imbalance = new Float64Array(L);
    for (let l = 0; l < L; l++) imbalance[l] = measuredImbalance(this.slotLoad, l * P, R, S);
    const missingRanks: number[] = [];
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < K; i++) {
        if (!this.bit(r, i)) {
          missingRanks.push(r);
          break;
        }
      }
    }
    return {
      phase: this.phase,
      episode: this.episode,
      startStep: this.startStep,
      endStep: this.startStep + K,
      slotLoad: this.slotLoad,
      logicalLoad: this.logicalLoad,
      imbalance,
      layerVersions: this.layerVersions.map((v) => Math.max(v, 0)),
      received: this.received,
      events: this.events,
      lateEvents: this.lateEvents,
      missingRanks,
      missingRankSteps: R * K - this.receivedCount,
      firstTsMs: Number.isFinite(this.firstTsMs) ? this.firstTsMs : 0,
      lastTsMs: this.lastTsMs,
      closedBy,
    };
  }

  private bit(rank: number, i: number): boolean {
    const b = rank * this.w.episodeSteps + i;
    return (this.received[b >> 3] & (1 << (b & 7))) !== 0;
  }

  private setBit(rank: number, i: number): void {
    const b = rank * this.w.episodeSteps + i;
    this.received[b >> 3] |= 1 << (b & 7);
  }
}
