import { Injectable } from '@nestjs/common';
import { RolloutOutcomePayload } from '@eplb/contracts';
import { describeOutcome, outcomeWindow, ProjectedFigures, rolloutOutcome } from '@eplb/domain';
import { DeploymentRecord, DeploymentRepository, DeploymentRollouts, HeatWindowRepository, PolicyRunRepository, versionsPerLayer } from '@eplb/persistence';

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
 * Measures what one finished rollout achieved: from the deployment's rollouts read model (when it
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

  /**
   * `view`: the deployment's rollouts read model folded with the events' times (a followed view
   * grows with the stream: no whole-stream read per rollout measured). Every time it names is the
   * database's (the events' occurred_at).
   */
  async measure(d: DeploymentRecord, view: DeploymentRollouts, rolloutId: string): Promise<OutcomeMeasurement> {
    const started = view.started.get(rolloutId);
    const finished = view.finished.get(rolloutId);
    const inputs = view.outcomeInputs.get(rolloutId);
    if (!started || !finished || !inputs?.after) return { kind: 'wait', why: 'not finished' };
    if (!started.startedAt || !finished.finishedAt) throw new Error(`rollout ${rolloutId}: the rollouts view was folded without the events' times`);
    const [fromVersion, toVersion] = [Number(started.fromVersion), Number(started.toVersion)];
    const base = { rolloutId, status: String(finished.status), fromVersion, toVersion };

    // every time here is the database's (events' occurred_at, intervals' sealed_at, episodes'
    // stored_at); which map the heat was measured under is what the workers reported per layer
    const startedMs = started.startedAt.getTime();
    const perInterval = d.intervalSteps / d.episodeSteps;
    const candidates = [
      ...(await this.heat.sealedIntervals(d.id, d.settings.phase, perInterval, { sealedBeforeMs: startedMs, newest: true, limit: BEFORE_CANDIDATES })),
      ...(await this.heat.sealedIntervals(d.id, d.settings.phase, perInterval, { sealedFromMs: startedMs, limit: AFTER_CANDIDATES })),
    ];
    const window = outcomeWindow(candidates, {
      before: { versions: versionsPerLayer(inputs.before, d.numLayers), storedFromMs: inputs.previousFinishedAt?.getTime() ?? 0 },
      after: { versions: versionsPerLayer(inputs.after, d.numLayers), storedFromMs: finished.finishedAt.getTime() },
      nextStartedAtMs: inputs.nextStartedAt?.getTime() ?? null,
    });
    if (window.kind === 'wait') return window;
    if (window.kind === 'unmeasurable') return { kind: 'record', payload: { ...base, outcome: null, why: window.why }, reason: `outcome of rollout ${rolloutId} not measurable: ${window.why}` };
    const outcome = rolloutOutcome(d.numLayers, window.before, window.after, started.layers ?? [], await this.projected(d.id, toVersion));
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
