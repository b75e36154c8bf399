import { Injectable } from '@nestjs/common';
import { ROLLOUT_EVENTS, RolloutOutcomePayload } from '@eplb/contracts';
import { describeOutcome, outcomeWindow, ProjectedFigures, rolloutOutcome } from '@eplb/domain';
import { committedVersionsThrough, DeploymentRecord, DeploymentRepository, HeatWindowRepository, PolicyRunRepository, StoredEvent } from '@eplb/persistence';

/** Intervals sealed before the rollout started that may hold the heat before it (the newest first). */
const BEFORE_CANDIDATES = 4;
/**
 * Intervals sealed from the rollout's start on that are searched for the interval after it (the
 * oldest first): a collector this many intervals behind leaves the outcome waiting until
 * ROLLOUT_OUTCOME_MAX_WAIT_MS says it could not be measured.
 */
const AFTER_CANDIDATES = 48;

/** A finished rollout's outcome to record (with the one-line reason), or not yet. */
export type OutcomeMeasurement = { readonly kind: 'record'; readonly payload: RolloutOutcomePayload; readonly reason: string } | { readonly kind: 'wait'; readonly why: string };

/**
 * Measures what one finished rollout achieved: from the deployment's rollouts stream (when it
 * started and ended, the versions each layer was on before it and after it, whether another one
 * started after it), the collector's sealed intervals around it (chosen by the database's clock,
 * judged by the versions the workers reported), and the figures of the policy run its map version
 * came from. The arithmetic is the domain's (rolloutOutcome).
 */
@Injectable()
export class RolloutOutcomeMeasurer {
  constructor(
    private readonly heat: HeatWindowRepository,
    private readonly deployments: DeploymentRepository,
    private readonly runs: PolicyRunRepository,
  ) {}

  async measure(d: DeploymentRecord, events: readonly StoredEvent[], rolloutId: string): Promise<OutcomeMeasurement> {
    const of = (type: string) => events.findIndex((e) => e.type === type && e.payload.rolloutId === rolloutId);
    const startedAt = of(ROLLOUT_EVENTS.started);
    const finishedAt = of(ROLLOUT_EVENTS.finished);
    if (startedAt < 0 || finishedAt < 0) return { kind: 'wait', why: 'not finished' };
    const started = events[startedAt];
    const finished = events[finishedAt];
    const next = events.slice(finishedAt + 1).find((e) => e.type === ROLLOUT_EVENTS.started);
    const previous = events.slice(0, startedAt).filter((e) => e.type === ROLLOUT_EVENTS.finished).pop();
    const fromVersion = Number(started.payload.fromVersion);
    const toVersion = Number(started.payload.toVersion);
    const base = { rolloutId, status: String(finished.payload.status), fromVersion, toVersion };

    // every time here is the database's (events' occurred_at, intervals' sealed_at, episodes'
    // stored_at); which map the heat was measured under is what the workers reported per layer
    const startedMs = started.occurredAt.getTime();
    const perInterval = d.intervalSteps / d.episodeSteps;
    const candidates = [
      ...(await this.heat.sealedIntervals(d.id, d.settings.phase, perInterval, { sealedBeforeMs: startedMs, newest: true, limit: BEFORE_CANDIDATES })),
      ...(await this.heat.sealedIntervals(d.id, d.settings.phase, perInterval, { sealedFromMs: startedMs, limit: AFTER_CANDIDATES })),
    ];
    const window = outcomeWindow(candidates, {
      before: { versions: committedVersionsThrough(d.id, events, startedAt - 1, d.numLayers), storedFromMs: previous ? previous.occurredAt.getTime() : 0 },
      after: { versions: committedVersionsThrough(d.id, events, finishedAt, d.numLayers), storedFromMs: finished.occurredAt.getTime() },
      nextStartedAtMs: next ? next.occurredAt.getTime() : null,
    });
    if (window.kind === 'wait') return window;
    if (window.kind === 'unmeasurable') return { kind: 'record', payload: { ...base, outcome: null, why: window.why }, reason: `outcome of rollout ${rolloutId} not measurable: ${window.why}` };
    const outcome = rolloutOutcome(d.numLayers, window.before, window.after, (started.payload.layers as number[] | undefined) ?? [], await this.projected(d.id, toVersion));
    return { kind: 'record', payload: { ...base, outcome, why: null }, reason: `rollout ${rolloutId} (${base.status}, v${fromVersion} → v${toVersion}): ${describeOutcome(outcome)}` };
  }

  /** The figures of the policy run the version was approved from (null: imported, initial, …). */
  private async projected(deployment: string, version: number): Promise<ProjectedFigures | null> {
    const v = await this.deployments.findMapVersion(deployment, version);
    const runId = v?.origin.runId;
    if (typeof runId !== 'string') return null;
    const run = await this.runs.get(deployment, runId);
    const layers = run?.figures.layers as ProjectedFigures['layers'] | undefined;
    if (!run || !Array.isArray(layers)) return null;
    return { runId, interval: run.interval, layers };
  }
}
