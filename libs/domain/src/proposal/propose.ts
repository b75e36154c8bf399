import { invalid } from '../errors';
import { HeatEpisodes } from '../heat/heat';
import { layerImbalance } from '../heat/imbalance';
import { LayerPlacement } from '../expert-map/physical-to-logical';
import { getPolicy } from '../policy/registry';
import { DeploymentShape } from '../shape/deployment-shape';

/** What an operator sets for a deployment's policy runs (the registry's policy settings). */
export interface ProposalSettings {
  readonly policy: string;
  /** A layer is considered only when its imbalance on recent heat exceeds 1 + threshold. */
  readonly threshold: number;
  /** A layer must gain at least this much mean per-episode imbalance to be redeployed. */
  readonly minGain: number;
  /** Upper bound on expert transfers one rollout may need (null: none). */
  readonly maxTransfers: number | null;
  /** Bytes of one expert's weights, to report what a rollout moves. */
  readonly expertBytes: number;
  /**
   * Lost ranks (the policy plans for the others; see the policies' excludeRanks). A layer whose
   * map in service leaves an expert without a replica on a live rank is always chosen, whatever
   * its gain and the transfer budget: otherwise that expert is not served.
   */
  readonly excludeRanks?: readonly number[];
}

export interface LayerFigures {
  readonly layer: number;
  /** mean per-episode imbalance (max/mean rank load) of the map in service on the heat */
  readonly current: number;
  /** same figure for the candidate (equal to current when the layer is not chosen) */
  readonly candidate: number;
  readonly transfers: number;
  readonly chosen: boolean;
}

export interface Proposal {
  /** 'proposed' when some layer is worth deploying; 'nothing' otherwise (a decision, not a proposal). */
  readonly status: 'proposed' | 'nothing';
  readonly policy: string;
  readonly reason: string;
  /** The candidate map: chosen layers from the policy, every other layer as in service. */
  readonly candidate: number[][];
  readonly layers: LayerFigures[];
  readonly chosenLayers: number[];
  readonly transfers: number;
  readonly bytes: number;
  /** Means over layers, for one-line summaries. */
  readonly currentMean: number;
  readonly candidateMean: number;
}

/**
 * One policy run as the scheduler and what-if both do it: run the policy against the map in
 * service, keep the layers whose gain pays (the policy's own choice, then the settings' gain
 * floor), cut to the transfer budget by gain per transfer, and say why.
 */
export function propose(shape: DeploymentShape, heat: HeatEpisodes, current: readonly LayerPlacement[], settings: ProposalSettings): Proposal {
  if (heat.length === 0) throw invalid('heat', 'no episodes to plan from');
  const exclude = settings.excludeRanks ?? [];
  const result = getPolicy(settings.policy)({
    shape,
    heat,
    current,
    options: { threshold: settings.threshold, minGain: settings.minGain, ...(exclude.length ? { excludeRanks: exclude } : {}) },
  });
  const { numRanks: R, slotsPerRank: S } = shape;
  const rows = result.physicalToLogical.map((row, l) => {
    const before = layerImbalance(current[l], heat, l, R, S).episodeMean;
    const after = layerImbalance(row, heat, l, R, S).episodeMean;
    const report = result.layers[l];
    const must = exclude.length > 0 && losesExpert(current[l], exclude, S, shape.numExperts);
    return { layer: l, before, after, gain: before - after, transfers: report.transfers, must, candidate: must || (report.redeployed && before - after >= settings.minGain) };
  });
  // Best gain per transfer first, within the budget.
  const order = rows
    .filter((r) => r.candidate)
    .sort((a, b) => Number(b.must) - Number(a.must) || b.gain / Math.max(1, b.transfers) - a.gain / Math.max(1, a.transfers));
  const chosen = new Set<number>();
  let transfers = 0;
  let cut = 0;
  for (const r of order) {
    if (!r.must && settings.maxTransfers !== null && transfers + r.transfers > settings.maxTransfers) {
      cut++;
      continue;
    }
    chosen.add(r.layer);
    transfers += r.transfers;
  }
  const candidate = result.physicalToLogical.map((row, l) => (chosen.has(l) ? row.slice() : Array.from(current[l])));
  const layers: LayerFigures[] = rows.map((r) => ({
    layer: r.layer,
    current: r.before,
    candidate: chosen.has(r.layer) ? r.after : r.before,
    transfers: chosen.has(r.layer) ? r.transfers : 0,
    chosen: chosen.has(r.layer),
  }));
  const mean = (k: 'current' | 'candidate') => layers.reduce((a, x) => a + x[k], 0) / layers.length;
  const status = chosen.size > 0 ? 'proposed' : 'nothing';
  const reason =
    status === 'proposed'
      ? `${chosen.size} of ${shape.numLayers} layers gain enough to pay for ${transfers} transfers${cut ? ` (${cut} more cut by the transfer budget)` : ''}`
      : cut
        ? `layers worth redeploying exceed the transfer budget of ${settings.maxTransfers}`
        : `no layer's projected gain reaches ${settings.minGain} over imbalance threshold ${settings.threshold}`;
  return {
    status,
    policy: settings.policy,
    reason,
    candidate,
    layers,
    chosenLayers: [...chosen].sort((a, b) => a - b),
    transfers,
    bytes: transfers * settings.expertBytes,
    currentMean: mean('current'),
    candidateMean: mean('candidate'),
  };
}

/** Whether some logical expert has no replica outside the excluded ranks in a layer's row. */
function losesExpert(row: LayerPlacement, exclude: readonly number[], S: number, E: number): boolean {
  const live = new Uint8Array(E);
  const gone = new Set(exclude);
  for (let p = 0; p < row.length; p++) if (!gone.has(Math.floor(p / S))) live[row[p]] = 1;
  return live.includes(0);
}
