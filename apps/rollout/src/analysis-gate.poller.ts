import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@eplb/platform';
import { DeploymentDriver } from './driving/deployment-driver';
import { RolloutDrivers } from './driving/rollout-drivers';
import { HeatAnalysis, HeatAnalysisVerdict } from './heat-analysis';
import { ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';

/** The gate a rollout waits on after a gated batch committed. */
export interface AnalysisGateRequest {
  readonly rolloutId: string;
  readonly batch: number;
  readonly layers: number[];
}

/**
 * The analysis gate: asks HeatAnalysis (the collector's episodes in Postgres) until it has a
 * verdict on the batch's layers, then hands it on. Stops asking once the gate is gone (promoted,
 * aborted, timed out by the machine) or the driver stopped. After a takeover the machine asks
 * again (`restarted` clears `requested`), so polling restarts by itself.
 */
@Injectable()
export class AnalysisGatePoller {
  constructor(
    private readonly analysis: HeatAnalysis,
    private readonly drivers: RolloutDrivers,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  watch(d: DeploymentDriver, gate: AnalysisGateRequest, onVerdict: (v: Exclude<HeatAnalysisVerdict, { verdict: 'pending' }>) => Promise<void>): void {
    const { rolloutId, batch, layers } = gate;
    const s = d.state;
    if (!s?.gate) return;
    const q = {
      deployment: d.deployment,
      layers,
      baselineBefore: d.startedAt,
      committedAt: s.gate.since,
      minEpisodes: this.settings.ROLLOUT_ANALYSIS_MIN_EPISODES,
      version: s.plan.toVersion,
    };
    // the baseline: episodes with the batch's layers on their version before the rollout (when they share one)
    const planned = s.plan.layers.filter((l) => layers.includes(l.layer));
    const before = new Set(planned.map((l) => l.fromVersion ?? s.plan.fromVersion));
    // the rows the batch's layers roll back to (every agent's part carries the full row): the
    // gate pairs each episode with them, modelled on its heat, so drifting heat does not decide
    const previousRows = Object.fromEntries(planned.filter((l) => l.inverse[0]).map((l) => [l.layer, l.inverse[0].row] as const));
    const query = { ...q, previousRows, ...(before.size === 1 ? { baselineVersion: [...before][0] } : {}) };
    const tick = async (): Promise<void> => {
      const g = d.state?.gate;
      if (this.drivers.closed || d.stopped || d.rolloutId !== rolloutId || !g || g.batch !== batch || d.state?.failure) return;
      let r: HeatAnalysisVerdict;
      try {
        r = await this.analysis.analyse(query);
      } catch (e) {
        this.logger.warn({ deployment: d.deployment, batch, err: (e as Error).message }, 'analysis query failed; asking again');
        r = { verdict: 'pending', detail: '', episodes: 0 };
      }
      if (r.verdict === 'pending') {
        const t = setTimeout(() => void tick(), this.settings.ROLLOUT_ANALYSIS_POLL_MS);
        t.unref();
        return;
      }
      this.logger.info({ deployment: d.deployment, rolloutId, batch, verdict: r.verdict, detail: r.detail }, 'analysis gate');
      await onVerdict(r);
    };
    setImmediate(() => void tick());
  }
}
