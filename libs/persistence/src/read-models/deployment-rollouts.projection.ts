import { ROLLOUT_EVENTS, RolloutControlPayload, RolloutOutcomePayload, RolloutRequestedPayload } from '@eplb/contracts';
import { RolloutEvent, RolloutLifecycleStatus, rolloutLifecycleStatus, RolloutStatus } from '@eplb/domain';

/** The slice of a stored event the fold needs (a StoredEvent fits; the rollout service's poll reads no times). */
export interface RolloutStreamEvent {
  readonly id: string;
  readonly stream: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
  /** When it was stored; absent where the reader reads no times. */
  readonly occurredAt?: Date;
}

/** A started rollout: its versions, and (when the start event was read with them) its layers and start time. */
export interface StartedRollout {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly layers?: readonly number[];
  readonly startedAt?: Date;
}

/** A rollout request as recorded: its event id, what was asked, and who asked why. */
export interface RolloutRequestRecord {
  readonly eventId: string;
  readonly payload: RolloutRequestedPayload;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

/** An operator's pause/resume/abort/promote as recorded (its event id keeps it from applying twice). */
export interface RolloutControlRecord {
  readonly eventId: string;
  readonly payload: RolloutControlPayload;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

export interface FinishedRollout {
  readonly status: RolloutStatus;
  readonly failure: unknown;
  /** When it was stored (absent when read without times). */
  readonly finishedAt?: Date;
}

/**
 * What a rollout's outcome is measured from, beside its start and end: per layer the version
 * committed (layers never committed are absent) when it started and when it finished, and when
 * the heat under each map may begin and must end (times absent when read without times).
 */
export interface RolloutOutcomeInputs {
  readonly before: ReadonlyMap<number, number>;
  /** When the newest rollout finished before it started was stored (null: none). */
  readonly previousFinishedAt?: Date | null;
  after?: ReadonlyMap<number, number>;
  /** When the first rollout started after it finished was stored (absent: none yet). */
  nextStartedAt?: Date;
}

/**
 * The newest finished rollout as the loop needs it: when it was stored (read with times) and the
 * version every layer was on once it finished (the map it left: later commits are another rollout's).
 */
export interface LastFinishedRollout {
  readonly rolloutId: string;
  readonly status: RolloutStatus;
  readonly failed: boolean;
  readonly finishedAt?: Date;
  readonly committed: ReadonlyMap<number, number>;
}

/**
 * Read model of one deployment's rollouts, folded from its `rollouts:<deployment>` stream:
 * requests and their fate, operator controls, measured outcomes, and the committed map (per layer, the version
 * every rank is on; layers never rolled out are on `baseVersion`). Folding an event twice changes
 * nothing (by event id), so a reader may re-read a window it has partly seen.
 */
export class DeploymentRollouts {
  readonly requests = new Map<string, RolloutRequestRecord>();
  readonly rejected = new Map<string, string>();
  readonly started = new Map<string, StartedRollout>();
  readonly finished = new Map<string, FinishedRollout>();
  readonly controls: RolloutControlRecord[] = [];
  readonly committed = new Map<number, number>();
  /** Measured outcomes of finished rollouts, in the order they were recorded. */
  readonly outcomes = new Map<string, RolloutOutcomePayload>();
  /** The highest map version requested or discarded: what the automatic loop has settled. */
  settledVersion = 0;
  /** When each automatic request was stored (read with times), oldest first. */
  readonly automaticRequests: Date[] = [];
  /** The newest finished rollout (null: none yet). */
  lastFinished: LastFinishedRollout | null = null;
  /** Ranks an emergency map was planned around (each once: its return is the operator's call). */
  readonly plannedAround = new Set<number>();
  /**
   * Per rollout whose outcome is not recorded yet, what it is measured from; dropped with its
   * outcome, so a long history keeps only the rollouts still being measured.
   */
  readonly outcomeInputs = new Map<string, RolloutOutcomeInputs>();
  /** Finished rollouts no rollout has started after yet. */
  private readonly awaitingNextStart: string[] = [];
  private readonly seen = new Set<string>();
  /** The ids in `seen`, in the order folded: what `forgetBelow` walks. */
  private readonly seenOrder: string[] = [];

  constructor(readonly deployment: string) {}

  apply(e: RolloutStreamEvent): void {
    if (this.seen.has(e.id)) return;
    this.seen.add(e.id);
    this.seenOrder.push(e.id);
    const p = e.payload as Record<string, any>;
    const meta = { eventId: e.id, actor: e.actor, reason: e.reason, correlationId: e.correlationId };
    switch (e.type) {
      case ROLLOUT_EVENTS.requested:
        this.requests.set(p.rolloutId, { ...meta, payload: p as RolloutRequestedPayload });
        this.settledVersion = Math.max(this.settledVersion, Number(p.mapVersion));
        if (p.automatic === true && e.occurredAt) this.automaticRequests.push(e.occurredAt);
        break;
      case ROLLOUT_EVENTS.versionDiscarded:
        this.settledVersion = Math.max(this.settledVersion, Number(p.version));
        break;
      case ROLLOUT_EVENTS.emergencyPlanned:
        for (const rank of (p.lostRanks as number[] | undefined) ?? []) this.plannedAround.add(rank);
        break;
      case ROLLOUT_EVENTS.controlRequested:
        this.controls.push({ ...meta, payload: p as RolloutControlPayload });
        break;
      case ROLLOUT_EVENTS.rejected:
        this.rejected.set(p.rolloutId, String(p.why ?? e.reason));
        break;
      case ROLLOUT_EVENTS.started:
        this.started.set(p.rolloutId, {
          fromVersion: p.fromVersion,
          toVersion: p.toVersion,
          layers: Array.isArray(p.layers) ? (p.layers as number[]) : [],
          ...(e.occurredAt ? { startedAt: e.occurredAt } : {}),
        });
        if (!this.outcomes.has(p.rolloutId)) {
          this.outcomeInputs.set(p.rolloutId, { before: new Map(this.committed), ...(e.occurredAt ? { previousFinishedAt: this.lastFinished?.finishedAt ?? null } : {}) });
        }
        for (const rid of this.awaitingNextStart.splice(0)) {
          const inputs = this.outcomeInputs.get(rid);
          if (inputs && e.occurredAt) inputs.nextStartedAt = e.occurredAt;
        }
        break;
      case ROLLOUT_EVENTS.layerCommitted:
        this.committed.set(p.layer, p.version);
        break;
      case ROLLOUT_EVENTS.finished: {
        const committedAfter = new Map(this.committed);
        this.finished.set(p.rolloutId, { status: p.status, failure: p.failure ?? null, ...(e.occurredAt ? { finishedAt: e.occurredAt } : {}) });
        const inputs = this.outcomeInputs.get(p.rolloutId);
        if (inputs) inputs.after = committedAfter;
        this.lastFinished = {
          rolloutId: String(p.rolloutId),
          status: p.status,
          failed: p.failure !== null && p.failure !== undefined,
          ...(e.occurredAt ? { finishedAt: e.occurredAt } : {}),
          committed: committedAfter,
        };
        this.awaitingNextStart.push(String(p.rolloutId));
        break;
      }
      case ROLLOUT_EVENTS.outcomeMeasured:
        if (!this.outcomes.has(p.rolloutId)) this.outcomes.set(p.rolloutId, p as RolloutOutcomePayload);
        this.outcomeInputs.delete(p.rolloutId);
        break;
    }
  }

  /**
   * Forgets the ids of events folded below `id`: a follower that will never read below it again
   * keeps the ids it may still read twice (its re-read window), not one per event of the history.
   */
  forgetBelow(id: bigint): void {
    let k = 0;
    for (; k < this.seenOrder.length && BigInt(this.seenOrder[k]) < id; k++) this.seen.delete(this.seenOrder[k]);
    if (k > 0) this.seenOrder.splice(0, k);
  }

  /** The rollout being driven (started, not finished), if any. */
  active(): string | null {
    for (const rid of this.started.keys()) if (!this.finished.has(rid)) return rid;
    return null;
  }

  /**
   * A started rollout's place in the deployment's start order (1 = the first ever started; 0:
   * not started) — read from the log, so every instance numbers a rollout the same: agents refuse
   * commands of a rollout older than the newest they took.
   */
  startOrder(rolloutId: string): number {
    let i = 0;
    for (const rid of this.started.keys()) {
      i++;
      if (rid === rolloutId) return i;
    }
    return 0;
  }

  /** Requests neither rejected nor started, oldest first. */
  pending(): RolloutRequestRecord[] {
    return [...this.requests.values()].filter((r) => !this.rejected.has(r.payload.rolloutId) && !this.started.has(r.payload.rolloutId));
  }

  /** Per layer the committed version (length `layers`). */
  committedVersions(layers: number, baseVersion = 1): number[] {
    return versionsPerLayer(this.committed, layers, baseVersion);
  }

  /**
   * The map version in service: the one every layer is committed on; while a rollout runs, the
   * version it started from (what serves again if it rolls back, and what a plan made now must be
   * judged against); null when layers are on different versions with nothing running (a held
   * rollout: an operator decides).
   */
  inService(layers: number, baseVersion = 1): number | null {
    const active = this.active();
    if (active) return this.started.get(active)?.fromVersion ?? null;
    const versions = this.committedVersions(layers, baseVersion);
    return versions.every((v) => v === versions[0]) ? (versions[0] ?? baseVersion) : null;
  }

  /** REQUESTED, REJECTED, RUNNING (started, not finished) or the final status the service recorded. */
  status(rolloutId: string): RolloutLifecycleStatus {
    return rolloutLifecycleStatus({
      rejected: this.rejected.has(rolloutId),
      started: this.started.has(rolloutId),
      finished: this.finished.get(rolloutId)?.status ?? null,
    });
  }
}

/** Per layer the version of a layer → version map (length `layers`; a layer never committed is on `baseVersion`). */
export function versionsPerLayer(committed: ReadonlyMap<number, number>, layers: number, baseVersion = 1): number[] {
  return Array.from({ length: layers }, (_, l) => committed.get(l) ?? baseVersion);
}

/** The state-machine events of a `rollout:<id>` stream, as the reducer takes them. */
export const rolloutMachineEvents = (stored: readonly Pick<RolloutStreamEvent, 'type' | 'payload'>[]): RolloutEvent[] =>
  stored.filter((e) => e.type.startsWith('rollout.')).map((e) => e.payload as unknown as RolloutEvent);
