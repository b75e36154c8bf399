import { RolloutState } from '@eplb/domain';
import { NewEvent } from '@eplb/persistence';

/** One deployment this instance holds the lock for; every state change runs through `serial`. */
export class DeploymentDriver {
  state: RolloutState | null = null;
  rolloutId: string | null = null;
  /** The rollout's place in the deployment's start order (DeploymentRollouts.startOrder): commands carry it. */
  rolloutSeq = 0;
  /** The rollout's chain of custody: its request's correlation id, carried by every event of it. */
  correlationId: string | null = null;
  /** Control requests already turned into operator events (by request event id). */
  readonly appliedControls = new Set<string>();
  /**
   * Events applied but not yet written (acks, prepare decisions, layer-committed rows): they wait
   * for the next write-ahead decision or the flush on the clock loop. Losing them in a crash
   * loses nothing — the replacement replays up to the last decision it finds, re-sends what is in
   * flight, and the agents answer again.
   */
  readonly unrecorded: NewEvent[] = [];
  unrecordedSince = 0;
  /** When the rollout was created: the analysis gate's baseline is the heat before it. */
  startedAt = 0;
  /** The driver's writes, in order: each appends after the previous one committed. */
  writes: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  stopped = false;

  constructor(readonly deployment: string) {}

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => (this.stopped ? (undefined as T) : fn()));
    this.queue = run.catch(() => undefined);
    return run;
  }
}
