import { DeploymentShape } from '../shape/deployment-shape';
import { LayerPlacement } from '../expert-map/physical-to-logical';
import { HeatEpisodes } from '../heat/heat';

/** Knobs a policy may read; each has a default, so `{}` is always fine. */
export interface PolicyOptions {
  /** Episode weights ∝ 2^(−age/halfLife) (newest episode age 0). Default: policy's own. */
  readonly halfLife?: number;
  /** Cost of one transfer, in units of mean per-episode imbalance of a layer. */
  readonly transferCost?: number;
  /** A layer is redeployed only if its imbalance on recent heat exceeds 1 + threshold. */
  readonly threshold?: number;
  /** A redeployed layer must gain at least this much (mean per-episode imbalance). */
  readonly minGain?: number;
  /** Weight of the load spread (Σ load² / R) beside the peak in local search. */
  readonly spread?: number;
  /** Overloaded ranks whose slots local search tries to move, per step (default 3). */
  readonly searchRanks?: number;
  /** default: a layer with one shot (stationary heat) must gain this much per transfer (default 0.01). */
  readonly stationaryGainPerTransfer?: number;
  /** default: a redeployed layer's gain, replanned on the older half of the episodes, must exceed this many standard errors on the newer half (default 1; 0 = only positive; negative disables the check). */
  readonly confirmZ?: number;
  /** default: a layer whose older/newer-half heat distance exceeds this many times its odd/even one is planned for a forecast of its drift (default 10; 0 disables). */
  readonly driftRatio?: number;
  /** default, drifting layers: price of a transfer in the sticky construction, in units of the mean rank load (default 0.05). */
  readonly driftPenalty?: number;
  /** default, layers of several shots: price of a transfer in the sticky construction, in units of the mean rank load (default 0.05). */
  readonly phasePenalty?: number;
  /**
   * default: a layer it re-plans (a stale map, drift) moves at most this share of the transfers a
   * plain greedy re-plan of the layer would make (default 1/3).
   */
  readonly transferBudget?: number;
  /** Upper bound on local-search moves per layer. */
  readonly maxMoves?: number;
  /** Search nodes per layer for the exact branch and bound (flash). */
  readonly nodeBudget?: number;
  /** Episodes are grouped into at most this many shots of alike heat (default 4; 0 keeps all). */
  readonly maxShots?: number;
  /** Correlation an episode needs with a shot to join it (default 0.7). */
  readonly similarity?: number;
  /**
   * Lost ranks: the plan is made for the other ranks alone, every logical expert keeping a replica
   * on a live one; the excluded ranks' slots keep what they hold in the map in service
   * (exclude-ranks.ts says why and what they hold without one).
   */
  readonly excludeRanks?: readonly number[];
  /** Greedy: groups → nodes → ranks (default: when groups divide by nodes and it is within 1% of flat). */
  readonly hierarchical?: boolean;
}

export interface PolicyInput {
  readonly shape: DeploymentShape;
  /** episodes × layers × logical experts. */
  readonly heat: HeatEpisodes;
  /** The map in service, one row of P logical ids per layer. */
  readonly current?: readonly LayerPlacement[];
  readonly options?: PolicyOptions;
}

export interface LayerReport {
  /** Imbalance of the current map on the window sum (null without a current map). */
  readonly imbalanceBefore: number | null;
  readonly imbalanceAfter: number;
  /** Mean over episodes of the per-episode imbalance. */
  readonly episodeBefore: number | null;
  readonly episodeAfter: number;
  /** Expert weights arriving at a rank that did not hold them (0 without a current map). */
  readonly transfers: number;
  /** False when the policy kept the layer as it is in service. */
  readonly redeployed: boolean;
  /** How sure the policy is that the map in service is stale (policies that tell; default does). */
  readonly certainty?: LayerCertainty;
}

/**
 * How sure a plan can be that a layer's map in service is stale: the expected gain of the move
 * (mean per-episode imbalance) and its standard error, on held-out episodes when there are at
 * least 4 ('held-out'), else on the window itself against the counting noise of its heat
 * ('one-window': says nothing of how the traffic will change).
 */
export interface LayerCertainty {
  readonly basis: 'held-out' | 'one-window';
  readonly gain: number;
  readonly se: number;
  /** True when the layer was re-planned as stale. */
  readonly stale: boolean;
}

export interface PolicyResult {
  readonly policy: string;
  readonly physicalToLogical: number[][];
  readonly layers: LayerReport[];
}

/** Computes one map per layer; the registry adds reports and validation. */
export type LayerPolicy = (input: PolicyInput, notes?: LayerCertainty[]) => number[][];
