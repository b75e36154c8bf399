import { Injectable } from '@nestjs/common';
import { RolloutOutcomePayload } from '@eplb/contracts';
import { describeOutcome, OutcomeInterval, outcomeWindow, ProjectedFigures, rolloutOutcome, SameHeatOutcome, sameHeatOutcome } from '@eplb/domain';
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
    // per layer, the version the rollout found and the one it left
    const [found, left] = [versionsPerLayer(inputs.before, d.numLayers), versionsPerLayer(inputs.after, d.numLayers)];
    const window = outcomeWindow(candidates, {
      before: { versions: found, storedFromMs: inputs.previousFinishedAt?.getTime() ?? 0 },
      after: { versions: left, storedFromMs: finished.finishedAt.getTime() },
      nextStartedAtMs: inputs.nextStartedAt?.getTime() ?? null,
    });
    if (window.kind === 'wait') return window;
    if (window.kind === 'unmeasurable') return { kind: 'record', payload: { ...base, outcome: null, why: window.why }, reason: `outcome of rollout ${rolloutId} not measurable: ${window.why}` };
    const onSameHeat = await this.onSameHeat(d, window.after, found, left);
    const outcome = rolloutOutcome(d.numLayers, window.before, window.after, started.layers ?? [], await this.projected(d.id, toVersion), onSameHeat);
    return { kind: 'record', payload: { ...base, outcome, why: null }, reason: `rollout ${rolloutId} (${base.status}, v${fromVersion} → v${toVersion}): ${describeOutcome(outcome)}` };
  }

  /**
   * The interval after modelled under the rows the rollout found (`found`: per layer its version)
   * and the rows it left; null when one of its episodes has no logical heat stored (a collector
   * that kept none) or a version's rows are gone.
   */
  private async onSameHeat(d: DeploymentRecord, after: OutcomeInterval, found: readonly number[], left: readonly number[]): Promise<SameHeatOutcome | null> {
    const wanted = new Set(after.episodes.map((e) => e.episode));
    const episodes = (
      await this.heat.layerImbalances(d.id, d.settings.phase, {
        layers: Array.from({ length: d.numLayers }, (_, l) => l),
        storedFromMs: Math.min(...after.episodes.map((e) => e.storedAtMs)),
        // the interval's episodes are the first stored from its first one on, give or take the
        // order in which the collector stored the others
        limit: 4 * wanted.size,
        numExperts: d.numExperts,
      })
    ).filter((e) => wanted.has(e.episode));
    if (episodes.length !== wanted.size || episodes.some((e) => !e.logicalLoad)) return null;
    const [previousRows, newRows] = [await this.rows(d.id, found), await this.rows(d.id, left)];
    if (!previousRows || !newRows) return null;
    return sameHeatOutcome({ episodes: episodes.map((e) => ({ logicalLoad: e.logicalLoad! })), previousRows, newRows, numRanks: d.numRanks, slotsPerRank: d.slotsPerRank });
  }

  /** Per layer the row of the version it was on (null: a version's rows are gone). */
  private async rows(deployment: string, versions: readonly number[]): Promise<number[][] | null> {
    const maps = new Map<number, number[][] | null>();
    for (const v of new Set(versions)) maps.set(v, await this.deployments.mapVersion(deployment, v));
    const out: number[][] = [];
    for (let l = 0; l < versions.length; l++) {
      const row = maps.get(versions[l])?.[l];
      if (!row) return null;
      out.push(row);
    }
    return out;
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
