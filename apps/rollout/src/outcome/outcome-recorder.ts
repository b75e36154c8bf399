import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { deploymentRolloutsStream, ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentRepository, DeploymentRollouts, DeploymentRolloutsReader, FollowedRollouts, RolloutEventRepository } from '@eplb/persistence';
import type { RolloutOutcome } from '@eplb/domain';
import { gauge, LOGGER } from '@eplb/platform';
import { OnePassAtATime } from '../one-pass-at-a-time';
import { ROLLOUT_SERVICE_ACTOR } from '../rollout-instance';
import { ROLLOUT_SETTINGS, RolloutSettings } from '../rollout-settings';
import { RolloutOutcomeMeasurer } from './rollout-outcome.measurer';

const gainGauge = gauge(
  'eplb_rollout_imbalance_gain',
  "Measured imbalance (mean per-episode max/mean rank load) on the interval before the deployment's last measured rollout minus on the first interval after it (positive: better)",
  ['deployment'] as const,
);
const sameHeatGainGauge = gauge(
  'eplb_rollout_same_heat_gain',
  "The deployment's last measured rollout on the interval after's own heat: its imbalance modelled under the map the rollout found minus under the map it left (positive: better; the traffic held fixed)",
  ['deployment'] as const,
);

/** The gauges of a deployment's last measured outcome. */
function showOutcome(deployment: string, o: RolloutOutcome): void {
  gainGauge.set({ deployment }, o.gain);
  if (o.onSameHeat) sameHeatGainGauge.set({ deployment }, o.onSameHeat.gain);
  else sameHeatGainGauge.remove({ deployment });
}

/**
 * Records what every finished rollout achieved (`rollout.outcome-measured` in the deployment's
 * rollouts stream, under the rollout's correlation id) once the collector sealed an interval
 * wholly under the versions it left: it follows every deployment's rollouts stream on its own,
 * asks again with a growing pause while the interval after is not sealed, and gives up with a
 * reason after ROLLOUT_OUTCOME_MAX_WAIT_MS. Any instance may record; one does (appendOnce).
 */
@Injectable()
export class OutcomeRecorder {
  private readonly followed: FollowedRollouts;
  /** Per rollout: when to look again, and the pause after that. */
  private readonly later = new Map<string, { at: number; pauseMs: number }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly passes = new OnePassAtATime(
    () => this.pass(),
    (e) => this.logger.warn({ err: e.message }, 'measuring rollout outcomes failed; trying again'),
  );

  constructor(
    private readonly reader: DeploymentRolloutsReader,
    private readonly deployments: DeploymentRepository,
    private readonly events: RolloutEventRepository,
    private readonly measurer: RolloutOutcomeMeasurer,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.followed = reader.followAll();
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.settings.ROLLOUT_OUTCOME_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.passes.drain();
  }

  /** One pass over every deployment's finished rollouts without an outcome (one pass at a time). */
  poll(): Promise<void> {
    return this.passes.run();
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    for (const [deployment, v] of await this.followed.refresh()) {
      const due = [...v.finished.keys()].filter((rid) => v.started.has(rid) && !v.outcomes.has(rid) && (this.later.get(rid)?.at ?? 0) <= now);
      if (due.length > 0) await this.measureDue(deployment, v, due, now);
      const last = [...v.outcomes.values()].filter((o) => o.outcome).pop();
      if (last?.outcome) showOutcome(deployment, last.outcome);
    }
  }

  /** `view`: the deployment's followed view (read with times), which the measurer reads instead of the whole stream. */
  private async measureDue(deployment: string, view: DeploymentRollouts, due: string[], now: number): Promise<void> {
    const d = await this.deployments.find(deployment);
    if (!d) {
      for (const rid of due) this.later.set(rid, { at: now + 3_600_000, pauseMs: 3_600_000 });
      return;
    }
    for (const rid of due) {
      const m = await this.measurer.measure(d, view, rid);
      const finishedAt = view.finished.get(rid)?.finishedAt?.getTime() ?? now;
      if (m.kind === 'wait' && now - finishedAt < this.settings.ROLLOUT_OUTCOME_MAX_WAIT_MS) {
        const pauseMs = Math.min(2 * (this.later.get(rid)?.pauseMs ?? this.settings.ROLLOUT_OUTCOME_POLL_MS / 2), 30_000);
        this.later.set(rid, { at: now + pauseMs, pauseMs });
        continue;
      }
      const record =
        m.kind === 'record'
          ? m
          : { payload: { rolloutId: rid, status: String(view.finished.get(rid)?.status), fromVersion: view.started.get(rid)!.fromVersion, toVersion: view.started.get(rid)!.toVersion, outcome: null, why: `${m.why} within ${this.settings.ROLLOUT_OUTCOME_MAX_WAIT_MS} ms` }, reason: `outcome of rollout ${rid} not measurable: ${m.why}` };
      const written = await this.events.appendOnce({
        stream: deploymentRolloutsStream(deployment),
        type: ROLLOUT_EVENTS.outcomeMeasured,
        payload: { ...record.payload },
        actor: ROLLOUT_SERVICE_ACTOR,
        reason: record.reason,
        // the rollout's chain of custody: its request's correlation id
        correlationId: view.requests.get(rid)?.correlationId ?? rid,
      });
      this.later.delete(rid);
      if (written) this.logger.info({ deployment, rolloutId: rid, outcome: record.payload.outcome ? { before: record.payload.outcome.before.imbalance, after: record.payload.outcome.after.imbalance } : null }, record.reason);
      if (record.payload.outcome) showOutcome(deployment, record.payload.outcome);
    }
  }
}
