import { Inject, Injectable, Optional } from '@nestjs/common';
import { batchImbalance, decideImbalanceGate, decidePairedImbalanceGate, imbalance, ImbalanceGateOptions, PairedEpisode } from '@eplb/domain';
import { DeploymentRepository, HeatWindowRepository } from '@eplb/persistence';
import { ROLLOUT_SETTINGS, RolloutSettings } from './rollout-settings';

export interface HeatAnalysisQuery {
  readonly deployment: string;
  /** The batch's layers (the `analyse` command's `layers`). */
  readonly layers: readonly number[];
  /**
   * Epoch ms: the rollout's start; the baseline is the most recent episodes stored before it.
   * Both times are the control plane's and are compared with when the collector stored an
   * episode, never with the workers' clocks, which can be minutes off.
   */
  readonly baselineBefore: number;
  /** Epoch ms: the batch's last layer committed; measured episodes are stored at or after it. */
  readonly committedAt: number;
  /** Episodes on the new version needed for a verdict; 'pending' until then. */
  readonly minEpisodes: number;
  /**
   * The version the layers must be on in a measured episode (the rollout's toVersion). Without it,
   * any episode where each layer was on a single version counts — which, right after a commit,
   * can still be the old one (a worker that had not switched yet): pass it.
   */
  readonly version?: number;
  /** The version the layers must have been on in a baseline episode (the rollout's fromVersion); default any single one. */
  readonly baselineVersion?: number;
  /** Heat phase to judge (prefill | decode | mixed); default the deployment's balanced phase (settings.phase). */
  readonly phase?: string;
  /**
   * Per batch layer, the physical_to_logical row it had before the rollout (the one it rolls back
   * to). With them the gate is paired: each episode's measured imbalance is set against these
   * rows modelled on the episode's own logical heat, so heat that drifts during the rollout does
   * not decide. Without them (or without logical load in the episodes) the unpaired comparison.
   */
  readonly previousRows?: Readonly<Record<number, readonly number[]>>;
}

export type HeatAnalysisVerdict =
  | { readonly verdict: 'pending'; readonly detail: string; readonly episodes: number }
  | {
      readonly verdict: 'pass' | 'fail';
      readonly detail: string;
      /** Measured figures. */
      readonly before: { n: number; mean: number };
      readonly after: { n: number; mean: number };
      /** Whether the verdict came from the paired comparison (else before/after measured only). */
      readonly paired: boolean;
    };

export interface HeatAnalysisOptions extends ImbalanceGateOptions {
  /** Baseline: at most this many of the most recent episodes before the rollout. */
  readonly baselineEpisodes: number;
  /** At most this many episodes after the commit are averaged (the most recent). */
  readonly maxEpisodes: number;
}

/** Optional provider of HeatAnalysisOptions overrides (tests); settings otherwise. */
export const HEAT_ANALYSIS_OPTIONS = Symbol('HEAT_ANALYSIS_OPTIONS');

const fromSettings = (s: RolloutSettings | undefined): HeatAnalysisOptions => ({
  baselineEpisodes: s?.ROLLOUT_ANALYSIS_BASELINE_EPISODES ?? 64,
  minTolerance: s?.ROLLOUT_ANALYSIS_MIN_TOLERANCE ?? 0.02,
  seMultiplier: s?.ROLLOUT_ANALYSIS_SE_MULTIPLIER ?? 2,
  maxEpisodes: 1024,
});

const layerList = (layers: readonly number[]) => (layers.length <= 8 ? layers.join(',') : `${layers.slice(0, 8).join(',')},… (${layers.length})`);

/**
 * The rollout's analysis gate on the heat the collector stored: the imbalance measured
 * on a batch's layers after it committed must not be worse than before the rollout.
 *
 * Per episode (table heat_episodes) the collector records each layer's measured imbalance (max /
 * mean rank load of the slot counts, under the map in force) and the map version the layer's
 * events were under (0 when a layer changed version inside the episode). An episode counts when
 * every rank reported every step of it and each of the batch's layers was on one version
 * throughout — the new one after the commit, the old one before the rollout. Its figure is the
 * mean imbalance over the batch's layers. Given the previous rows, each episode is paired with
 * what those rows would have had on its logical heat (the heat does not depend on the placement),
 * and the decision (libs/domain `decidePairedImbalanceGate`) fails when the mean of measured −
 * modelled after exceeds that before by more than max(minTolerance, k·SE): drift in the heat
 * moves both and cancels. Otherwise `decideImbalanceGate` compares the measured means directly.
 *
 * Stateless: ask again (every ROLLOUT_ANALYSIS_POLL_MS) while it answers 'pending'; the machine's
 * analysis timeout bounds the wait when no heat arrives.
 */
@Injectable()
export class HeatAnalysis {
  private readonly options: HeatAnalysisOptions;

  constructor(
    private readonly heat: HeatWindowRepository,
    private readonly deployments: DeploymentRepository,
    @Optional() @Inject(ROLLOUT_SETTINGS) settings?: RolloutSettings,
    @Optional() @Inject(HEAT_ANALYSIS_OPTIONS) options?: Partial<HeatAnalysisOptions>,
  ) {
    this.options = { ...fromSettings(settings), ...options };
  }

  async analyse(q: HeatAnalysisQuery): Promise<HeatAnalysisVerdict> {
    if (q.layers.length === 0) throw new RangeError('HeatAnalysis: no layers to analyse');
    let phase = q.phase;
    let shape: Shape | undefined;
    if (phase === undefined || q.previousRows !== undefined) {
      const d = await this.deployments.find(q.deployment);
      if (!d) throw new Error(`HeatAnalysis: deployment ${q.deployment} does not exist`);
      phase ??= d.settings.phase;
      shape = { numRanks: d.numRanks, slotsPerRank: d.slotsPerRank, numExperts: d.numExperts };
    }
    const rows = q.previousRows && shape ? previousRowsOf(q.layers, q.previousRows, shape) : null;
    const numExperts = rows && shape ? { numExperts: shape.numExperts } : {};
    const after = await this.heat.layerImbalances(q.deployment, phase, {
      layers: q.layers,
      storedFromMs: q.committedAt,
      ...(q.version !== undefined ? { version: q.version } : {}),
      completeOnly: true,
      newest: true,
      limit: this.options.maxEpisodes,
      ...numExperts,
    });
    const where = `layers ${layerList(q.layers)}${q.version !== undefined ? ` on version ${q.version}` : ''}, ${phase}`;
    if (after.length < q.minEpisodes) {
      return { verdict: 'pending', episodes: after.length, detail: `${after.length} of ${q.minEpisodes} complete episodes measured on ${where} since the commit` };
    }
    const before = await this.heat.layerImbalances(q.deployment, phase, {
      layers: q.layers,
      storedBeforeMs: q.baselineBefore,
      ...(q.baselineVersion !== undefined ? { version: q.baselineVersion } : {}),
      completeOnly: true,
      newest: true,
      limit: this.options.baselineEpisodes,
      ...numExperts,
    });
    // the rows carry the chosen layers only, in the order asked: average them all
    const all = q.layers.map((_, i) => i);
    const measured = (e: Episode) => batchImbalance(e.imbalance, all);
    let unpairedWhy = '';
    if (rows && shape) {
      const missing = [...before, ...after].filter((e) => !e.logicalLoad).length;
      if (missing === 0) {
        const { numRanks: R, slotsPerRank: S } = shape;
        // the previous map on each episode's logical heat, per layer (replicas share evenly), once
        const model = (e: Episode): ModelledEpisode => ({ imbalance: e.imbalance, modelled: e.logicalLoad!.map((h, i) => imbalance(rows[i], h, R, S)) });
        const [mb, ma] = [before.map(model), after.map(model)];
        const pair = (e: ModelledEpisode): PairedEpisode => ({ measured: measured(e), counterfactual: batchImbalance(e.modelled, all) });
        const r = decidePairedImbalanceGate(mb.map(pair), ma.map(pair), this.options);
        const worst = worstLayer(q.layers, mb, ma);
        return {
          verdict: r.verdict,
          detail: `${where}: ${r.detail}${worst ? `; worst layer ${worst}` : ''}`,
          before: { n: r.before.n, mean: r.before.mean },
          after: { n: r.after.n, mean: r.after.mean },
          paired: true,
        };
      }
      unpairedWhy = `; unpaired: ${missing} episodes without logical load`;
    } else if (q.previousRows) {
      unpairedWhy = '; unpaired: the previous rows do not fit the batch layers';
    }
    const r = decideImbalanceGate(before.map(measured), after.map(measured), this.options);
    const worst = worstLayer(q.layers, before, after);
    return {
      verdict: r.verdict,
      detail: `${where}: ${r.detail}${worst ? `; worst layer ${worst}` : ''}${unpairedWhy}`,
      before: { n: r.before.n, mean: r.before.mean },
      after: { n: r.after.n, mean: r.after.mean },
      paired: false,
    };
  }
}

interface Shape {
  readonly numRanks: number;
  readonly slotsPerRank: number;
  readonly numExperts: number;
}

type Episode = { imbalance: number[]; logicalLoad?: Float64Array[] };
/** An episode's measured imbalance per batch layer and the previous rows' modelled one. */
type ModelledEpisode = { imbalance: number[]; modelled: number[] };

/** The previous row of each batch layer, in batch order; null when one is missing or not a row of this shape. */
function previousRowsOf(layers: readonly number[], given: Readonly<Record<number, readonly number[]>>, s: Shape): (readonly number[])[] | null {
  const out: (readonly number[])[] = [];
  for (const l of layers) {
    const row = given[l];
    if (!row || row.length !== s.numRanks * s.slotsPerRank || row.some((e) => !Number.isInteger(e) || e < 0 || e >= s.numExperts)) return null;
    out.push(row);
  }
  return out;
}

/**
 * The layer that fared worst, when there are several, as "L: before → after" (mean measured
 * imbalance). Unpaired: the layer whose measured mean rose most (or fell least). With modelled
 * figures: the layer whose paired change (mean measured − modelled after, minus before) is largest.
 */
function worstLayer(layers: readonly number[], before: readonly { imbalance: number[]; modelled?: number[] }[], after: readonly { imbalance: number[]; modelled?: number[] }[]): string | null {
  if (layers.length < 2 || before.length === 0) return null;
  const paired = before[0].modelled !== undefined;
  // per layer: mean measured, and mean measured − modelled (the measured mean when unpaired)
  const means = (eps: readonly { imbalance: number[]; modelled?: number[] }[]) => {
    const measured = new Array<number>(layers.length).fill(0);
    const gap = new Array<number>(layers.length).fill(0);
    for (const e of eps) {
      for (let i = 0; i < layers.length; i++) {
        measured[i] += e.imbalance[i];
        gap[i] += e.imbalance[i] - (e.modelled?.[i] ?? 0);
      }
    }
    return { measured: measured.map((x) => x / eps.length), gap: gap.map((x) => x / eps.length) };
  };
  const b = means(before);
  const a = means(after);
  let best = 0;
  for (let i = 1; i < layers.length; i++) if (a.gap[i] - b.gap[i] > a.gap[best] - b.gap[best]) best = i;
  const head = `${layers[best]}: ${b.measured[best].toFixed(3)} → ${a.measured[best].toFixed(3)}`;
  if (!paired) return head;
  const change = a.gap[best] - b.gap[best];
  return `${head} measured, paired change ${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(3)}`;
}
