import { DeploymentShape } from '../shape/deployment-shape';
import { LayerPlacement } from '../expert-map/physical-to-logical';
import { planTransfers } from '../transfer/transfer-plan';

/**
 * What going from one map version to another costs, per layer, before anyone starts a rollout:
 * the slots whose logical expert changes, the transfers (an expert arriving at a rank that did
 * not hold it) and their bytes, as the rollout's transfer planner would move them.
 */
export interface LayerDiff {
  readonly layer: number;
  /** Slots whose logical expert differs. */
  readonly slotsChanged: number;
  /** Experts arriving at a rank that did not hold them. */
  readonly transfers: number;
  /** Slots refilled from the same rank (a second replica, or an expert moved inside the rank). */
  readonly localCopies: number;
  /** transfers × expert bytes. */
  readonly bytes: number;
  /** Ranks that receive at least one expert (a transfer or a local copy). */
  readonly ranksTouched: number;
}

export interface MapDiffTotals {
  readonly layersChanged: number;
  readonly slotsChanged: number;
  readonly transfers: number;
  readonly localCopies: number;
  readonly bytes: number;
}

export interface MapDiff {
  /** One entry per layer, in layer order (unchanged layers have zeros). */
  readonly layers: LayerDiff[];
  readonly totals: MapDiffTotals;
}

/**
 * The diff from `from` to `to`, both full maps of `shape` (checked: a DomainError names the bad
 * row, `current[l]` for `from` and `next[l]` for `to`, as the planner calls them). Transfers and
 * local copies come from `planTransfers`, so the diff says what a rollout between the two moves.
 */
export function diffMaps(shape: DeploymentShape, from: readonly LayerPlacement[], to: readonly LayerPlacement[], expertBytes = 0): MapDiff {
  const plan = planTransfers(shape, from, to, expertBytes);
  const layers = plan.layers.map((lp): LayerDiff => {
    let slotsChanged = 0;
    const a = from[lp.layer];
    const b = to[lp.layer];
    for (let p = 0; p < b.length; p++) if (a[p] !== b[p]) slotsChanged++;
    return {
      layer: lp.layer,
      slotsChanged,
      transfers: lp.transfers,
      localCopies: lp.localCopies,
      bytes: lp.bytes,
      ranksTouched: lp.receives.filter((r) => r.length > 0).length,
    };
  });
  const sum = (k: 'slotsChanged' | 'transfers' | 'localCopies' | 'bytes') => layers.reduce((s, l) => s + l[k], 0);
  return {
    layers,
    totals: {
      layersChanged: layers.filter((l) => l.slotsChanged > 0).length,
      slotsChanged: sum('slotsChanged'),
      transfers: sum('transfers'),
      localCopies: sum('localCopies'),
      bytes: sum('bytes'),
    },
  };
}
