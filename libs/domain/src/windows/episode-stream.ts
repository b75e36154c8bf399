import { ClosedEpisode, EpisodeAccumulator, MapLookup, RankHeat } from './episode';
import { episodeOf, intervalOfEpisode, WindowShape } from './window-shape';

/** Where a stream resumes after a restart: what storage already holds. */
export interface StreamResume {
  /** Highest step end (step + steps) of any stored episode; 0 when none. */
  readonly maxEndStep: number;
  /** Episodes already stored at or above `closedFloor` (episodes below it are all closed). */
  readonly closedEpisodes: Iterable<number>;
  readonly closedFloor: number;
  /** Intervals below this are closed (their aggregates stored). */
  readonly nextInterval: number | null;
}

export type Offer =
  /** Counted in an open episode (in memory until it closes). */
  | { kind: 'open'; episode: number }
  | { kind: 'duplicate' }
  /** Its episode is stored already: merge it there (the interval is still open). */
  | { kind: 'late'; episode: number }
  /**
   * Its episode is stored and its interval sealed: too late to count. A replay of a report the
   * stored episode already holds is a duplicate, not late; only storage can tell which.
   */
  | { kind: 'sealed'; episode: number; reason: string }
  | { kind: 'rejected'; reason: string };

export interface Drained {
  readonly episodes: ClosedEpisode[];
  /** Intervals whose every episode is closed and past the lateness grace: aggregate and seal them. */
  readonly intervals: number[];
  /** Every episode below this is closed once the above are stored. */
  readonly closedFloor: number;
}

/**
 * Assembles one (deployment, phase) heat stream into episodes. The watermark is the newest step
 * seen minus `latenessSteps`: an episode closes when every rank reported every step, or when the
 * watermark passes its end (missing ranks are recorded). A report for a closed episode is late:
 * it is merged into the stored episode while the episode's interval is open (watermark below the
 * interval end plus the grace), and rejected with a reason afterwards.
 *
 * Closing is two moves: `due()` says what would close (a value, the stream unchanged) and
 * `settle()` applies it once the caller has stored it. A store that fails leaves the stream as it
 * was, so the retried batch closes the same episodes and seals the same intervals; what a retried
 * batch offers again is a duplicate of what its first attempt added to the open episodes.
 */
export class EpisodeStream {
  private readonly open = new Map<number, EpisodeAccumulator>();
  private readonly closed = new Set<number>();
  private closedFloor: number;
  private maxEndStep: number;
  private nextInterval: number | null;

  constructor(
    private readonly w: WindowShape,
    readonly phase: string,
    resume: StreamResume = { maxEndStep: 0, closedEpisodes: [], closedFloor: 0, nextInterval: null },
  ) {
    this.maxEndStep = resume.maxEndStep;
    this.closedFloor = resume.closedFloor;
    for (const e of resume.closedEpisodes) if (e >= this.closedFloor) this.closed.add(e);
    this.nextInterval = resume.nextInterval;
  }

  get watermark(): number {
    return this.maxEndStep - this.w.latenessSteps;
  }

  isClosed(episode: number): boolean {
    return episode < this.closedFloor || this.closed.has(episode);
  }

  /** Whether a late report for this episode may still be merged. */
  intervalOpen(episode: number): boolean {
    const interval = intervalOfEpisode(this.w, episode);
    return this.nextInterval === null || interval >= this.nextInterval;
  }

  offer(h: RankHeat, map: MapLookup): Offer {
    const episode = episodeOf(this.w, h.step);
    const lastEpisode = episodeOf(this.w, h.step + h.steps - 1);
    if (lastEpisode !== episode) {
      return { kind: 'rejected', reason: `steps: [${h.step}, ${h.step + h.steps}) crosses the boundary of episode ${episode} (episodes are ${this.w.episodeSteps} steps)` };
    }
    if (this.isClosed(episode)) {
      if (!this.intervalOpen(episode)) {
        return { kind: 'sealed', episode, reason: `late: episode ${episode} of interval ${intervalOfEpisode(this.w, episode)} is sealed (watermark at step ${this.watermark})` };
      }
      return { kind: 'late', episode };
    }
    let acc = this.open.get(episode);
    if (!acc) {
      acc = new EpisodeAccumulator(this.w, this.phase, episode);
      this.open.set(episode, acc);
      if (this.nextInterval === null) this.nextInterval = intervalOfEpisode(this.w, episode);
    }
    const admission = acc.admit(h);
    if (admission === 'duplicate') return { kind: 'duplicate' };
    if (admission !== 'new') return { kind: 'rejected', reason: admission.conflict };
    acc.add(h, map);
    if (h.step + h.steps > this.maxEndStep) this.maxEndStep = h.step + h.steps;
    return { kind: 'open', episode };
  }

  /**
   * What is complete or behind the watermark, and the intervals that became sealable, without
   * closing anything: store it, then `settle()` it.
   */
  due(): Drained {
    const episodes: ClosedEpisode[] = [];
    const wm = this.watermark;
    for (const [episode, acc] of [...this.open.entries()].sort((a, b) => a[0] - b[0])) {
      const end = (episode + 1) * this.w.episodeSteps;
      if (acc.complete || end <= wm) episodes.push(acc.close(acc.complete ? 'complete' : 'watermark'));
    }
    // Every episode ending at or before the watermark is closed then, open or never seen.
    const closedFloor = Math.max(this.closedFloor, Math.floor(Math.max(wm, 0) / this.w.episodeSteps));
    const intervals: number[] = [];
    if (this.nextInterval !== null) {
      // An interval is sealed when the watermark passed its end plus the lateness grace.
      for (let i = this.nextInterval; (i + 1) * this.w.intervalSteps + this.w.latenessSteps <= wm; i++) intervals.push(i);
    }
    return { episodes, intervals, closedFloor };
  }

  /** Applies what `due()` returned, once it is stored: its episodes closed, its intervals sealed. */
  settle(d: Drained): void {
    for (const e of d.episodes) {
      this.open.delete(e.episode);
      this.closed.add(e.episode);
    }
    if (d.closedFloor > this.closedFloor) {
      this.closedFloor = d.closedFloor;
      for (const e of this.closed) if (e < d.closedFloor) this.closed.delete(e);
    }
    if (d.intervals.length > 0) this.nextInterval = Math.max(this.nextInterval ?? 0, d.intervals[d.intervals.length - 1] + 1);
  }

  /** `due()` and `settle()` at once, for callers that keep nothing elsewhere. */
  drain(): Drained {
    const d = this.due();
    this.settle(d);
    return d;
  }

  openEpisodes(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }
}
