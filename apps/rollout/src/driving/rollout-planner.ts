import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { committedRows, defaultRolloutOptions, expectedGains, planRollout, RolloutEvent, RolloutPlan, rolloutStart } from '@eplb/domain';
import { DeploymentRepository, DeploymentRollouts, HeatWindowRepository, NewEvent, RolloutRequestRecord, shapeOf } from '@eplb/persistence';
import { LOGGER } from '@eplb/platform';
import { ROLLOUT_SERVICE_ACTOR } from '../rollout-instance';
import { ROLLOUT_SETTINGS, RolloutSettings } from '../rollout-settings';

/** Most layers a rollout stages at once (each holds a layer's incoming weights in device memory). */
export const MAX_WINDOW = 64;

/** What a request becomes: turned down (why), or a plan with the events that start it. */
export type PlannedRollout =
  | { readonly ok: false; readonly why: string }
  | {
      readonly ok: true;
      readonly plan: RolloutPlan;
      readonly fromVersion: number;
      /** The machine's first event: the plan and the options it runs with; its time is when the rollout started. */
      readonly created: RolloutEvent & { readonly type: 'created' };
      /** The `rollout.started` row of the deployment's rollouts stream. */
      readonly started: NewEvent;
    };

/**
 * Turns a rollout request into a plan: each layer from the version it is committed on to the
 * requested one, layers ordered by the gain the newest sealed interval's heat expects, batched as
 * the request asks, with the service's timeouts and retries.
 */
@Injectable()
export class RolloutPlanner {
  constructor(
    private readonly deployments: DeploymentRepository,
    private readonly heat: HeatWindowRepository,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `view`: the deployment's rollouts folded afresh, so each layer starts from what the log says it is on. */
  async plan(req: RolloutRequestRecord, view: DeploymentRollouts): Promise<PlannedRollout> {
    const deployment = view.deployment;
    const rid = req.payload.rolloutId;
    const dep = await this.deployments.find(deployment);
    if (!dep) return { ok: false, why: `deployment ${deployment} does not exist` };
    const versions = view.committedVersions(dep.numLayers);
    const toVersion = req.payload.mapVersion;
    const start = rolloutStart(versions, toVersion);
    if (!start.ok) return start;
    const maps = new Map<number, number[][]>();
    for (const version of start.mapVersions) {
      const m = await this.deployments.mapVersion(deployment, version);
      if (!m) return { ok: false, why: `map version ${version} does not exist` };
      maps.set(version, m);
    }
    const window = req.payload.window ?? this.settings.ROLLOUT_WINDOW;
    if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) return { ok: false, why: `window must be a whole number of layers from 1 to ${MAX_WINDOW}, got ${String(window)}` };
    const target = maps.get(toVersion)!;
    const current = committedRows(versions, maps);
    // largest expected gain first: imbalance under the newest sealed interval's heat, now vs after
    const shape = shapeOf(dep);
    let gain: number[] | undefined;
    try {
      const [interval] = await this.heat.intervals(deployment, dep.settings.phase, { limit: 1 });
      if (interval) gain = expectedGains(shape, current, target, interval.logicalLoad);
    } catch (e) {
      this.logger.warn({ deployment, err: (e as Error).message }, 'no heat to order layers by gain: layer order');
    }
    let plan: RolloutPlan;
    try {
      plan = planRollout({
        rolloutId: rid,
        deployment,
        shape,
        fromVersion: start.fromVersion,
        toVersion,
        ...(start.fromVersions ? { fromVersions: start.fromVersions } : {}),
        current,
        target,
        expertBytes: dep.settings.expertBytes,
        ...(gain ? { gain } : {}),
        ...(req.payload.steps ? { steps: req.payload.steps } : {}),
      });
    } catch (e) {
      return { ok: false, why: `cannot plan: ${(e as Error).message}` };
    }
    const created: RolloutEvent & { type: 'created' } = {
      type: 'created',
      at: Date.now(),
      plan,
      options: {
        ...defaultRolloutOptions,
        resendMs: this.settings.ROLLOUT_RESEND_MS,
        prepareTimeoutMs: this.settings.ROLLOUT_PREPARE_TIMEOUT_MS,
        commitTimeoutMs: this.settings.ROLLOUT_COMMIT_TIMEOUT_MS,
        maxRollbackAttempts: this.settings.ROLLOUT_MAX_ROLLBACK_ATTEMPTS,
        rollbackRetryMs: this.settings.ROLLOUT_ROLLBACK_RETRY_MS,
        analysisTimeoutMs: this.settings.ROLLOUT_ANALYSIS_TIMEOUT_MS,
        window,
        onFailure: req.payload.onFailure ?? 'rollback',
        ...(req.payload.bytesPerSecond ? { bytesPerSecond: req.payload.bytesPerSecond } : {}),
      },
      actor: req.actor,
      reason: req.reason,
      correlationId: req.correlationId,
    };
    const started: NewEvent = {
      stream: deploymentRolloutsStream(deployment),
      type: ROLLOUT_EVENTS.started,
      payload: {
        rolloutId: rid,
        fromVersion: start.fromVersion,
        toVersion: plan.toVersion,
        layers: plan.layers.map((l) => l.layer),
        gains: plan.layers.map((l) => l.gain),
        orderedBy: gain ? 'expected gain on the newest sealed interval' : 'layer index (no heat stored)',
        batches: plan.batches,
        transfers: plan.transfers,
        bytes: plan.bytes,
      },
      actor: ROLLOUT_SERVICE_ACTOR,
      reason: req.reason,
      correlationId: req.correlationId,
    };
    return { ok: true, plan, fromVersion: start.fromVersion, created, started };
  }
}
