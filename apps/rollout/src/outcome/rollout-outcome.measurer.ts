import { Injectable } from '@nestjs/common';
import { ROLLOUT_EVENTS, RolloutOutcomePayload } from '@eplb/contracts';
import { describeOutcome, outcomeWindow, ProjectedFigures, rolloutOutcome } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, DeploymentRollouts, HeatWindowRepository, PolicyRunRepository, StoredEvent } from '@eplb/persistence';

/** A finished rollout's outcome to record (with the one-line reason), or not yet. */
export type OutcomeMeasurement = { readonly kind: 'record'; readonly payload: RolloutOutcomePayload; readonly reason: string } | { readonly kind: 'wait'; readonly why: string };

/**
 * Measures what one finished rollout achieved: from the deployment's rollouts stream (when it
 * started and ended, the versions it left each layer on, whether another one started after it),
 * the collector's sealed intervals around it, and the figures of the policy run its map version
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
    // the versions the layers were left on: the stream folded up to the rollout's end
    const upTo = new DeploymentRollouts(d.id);
    for (const e of events.slice(0, finishedAt + 1)) upTo.apply(e);
    const versionsAfter = upTo.committedVersions(d.numLayers);
    const next = events.slice(finishedAt + 1).find((e) => e.type === ROLLOUT_EVENTS.started);
    const fromVersion = Number(started.payload.fromVersion);
    const toVersion = Number(started.payload.toVersion);
    const base = { rolloutId, status: String(finished.payload.status), fromVersion, toVersion };

    const { before, after } = await this.heat.outcomeIntervals(d.id, d.settings.phase, d.intervalSteps / d.episodeSteps, started.occurredAt.getTime(), finished.occurredAt.getTime());
    const window = outcomeWindow(before ? [before, ...after] : after, {
      startedAtMs: started.occurredAt.getTime(),
      finishedAtMs: finished.occurredAt.getTime(),
      versionsAfter,
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
